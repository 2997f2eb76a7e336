import { describe, expect, it } from 'vitest';
import { imageReferenceProblem } from './executables.js';

describe('imageReferenceProblem', () => {
  it.each([
    'nginx',
    'nginx:1.25',
    'library/nginx:latest',
    'ghcr.io/org/app:v1.2.3-rc.1',
    'localhost:5000/app',
    'registry.example.com:443/team/app_name__x:tag',
    `app@sha256:${'a'.repeat(64)}`,
    `ghcr.io/org/app:1@sha256:${'0'.repeat(64)}`,
  ])('accepts %s', (image) => {
    expect(imageReferenceProblem(image)).toBeUndefined();
  });

  it.each(['Nginx', 'not valid', 'app:', ':tag', 'app:-bad', '/app', 'app//x', 'app@sha256:short', `a/${'b'.repeat(300)}`])('refuses %j', (image) => {
    expect(imageReferenceProblem(image)).toBeDefined();
  });
});
