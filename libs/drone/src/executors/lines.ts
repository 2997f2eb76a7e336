/** Splits a byte stream into text lines without buffering an unbounded line. */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** Longer lines are cut into pieces, so a backend printing without newlines cannot exhaust memory. */
export const MAX_LINE_LENGTH = 16 * 1024;

export function forEachLine(stream: Readable, onLine: (line: string) => void, maxLength = MAX_LINE_LENGTH): void {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  const emit = (line: string): void => onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  stream.on('data', (chunk: Buffer) => {
    pending += decoder.write(chunk);
    let newline: number;
    while ((newline = pending.indexOf('\n')) !== -1) {
      emit(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
    }
    while (pending.length > maxLength) {
      emit(pending.slice(0, maxLength));
      pending = pending.slice(maxLength);
    }
  });
  stream.on('end', () => {
    pending += decoder.end();
    if (pending.length > 0) emit(pending);
    pending = '';
  });
  // A broken pipe is not the backend's exit; the exit is observed on the process itself.
  stream.on('error', () => undefined);
}
