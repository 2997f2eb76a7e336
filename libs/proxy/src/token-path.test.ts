import { describe, expect, it } from 'vitest';
import { tokenEnd, tokenOf, upstreamPath } from './token-path.js';

const DYN = 'A'.repeat(43);
const STATIC = 's.' + 'B'.repeat(43);

describe('token path splitting', () => {
  const cases: Array<[string, string | null, string, string]> = [
    // url, token, upstream path (dynamic), upstream path (static)
    [`/${DYN}/`, DYN, '/', `/${DYN}/`],
    [`/${DYN}/a/b?x=1&y=2`, DYN, '/a/b?x=1&y=2', `/${DYN}/a/b?x=1&y=2`],
    [`/${DYN}`, DYN, '/', `/${DYN}`],
    [`/${DYN}?q=1`, DYN, '/?q=1', `/${DYN}?q=1`],
    [`/${DYN}//double`, DYN, '//double', `/${DYN}//double`],
    [`/${STATIC}/ws`, STATIC, '/ws', `/${STATIC}/ws`],
    ['/', null, '', ''],
    ['//x', null, '', ''],
    ['/?q', null, '', ''],
    ['http://host/x/', null, '', ''],
    ['*', null, '', ''],
  ];
  it.each(cases)('%s', (url, token, dynamicPath, staticPath) => {
    const end = tokenEnd(url);
    if (token === null) {
      expect(end).toBe(-1);
      return;
    }
    expect(tokenOf(url, end)).toBe(token);
    expect(upstreamPath(url, end, false)).toBe(dynamicPath);
    expect(upstreamPath(url, end, true)).toBe(staticPath);
  });
});
