/** The proxy's own answers: short plain text, precomputed, never a backend detail or the token. */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERROR_BODIES } from './route-errors.js';

interface Reply {
  headers: string[];
  body: string;
  raw: string;
}

const replies = new Map<number, Reply>();

function replyFor(status: number): Reply {
  let reply = replies.get(status);
  if (reply === undefined) {
    const body = ERROR_BODIES[status] ?? `${STATUS_CODES[status] ?? 'Error'}.\n`;
    const length = String(Buffer.byteLength(body));
    const headers = ['content-type', 'text/plain; charset=utf-8', 'content-length', length, 'cache-control', 'no-store'];
    const raw =
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      `content-type: text/plain; charset=utf-8\r\ncontent-length: ${length}\r\ncache-control: no-store\r\n` +
      `connection: close\r\n\r\n${body}`;
    replies.set(status, (reply = { headers, body, raw }));
  }
  return reply;
}

/** Answer on a ServerResponse; a response already under way can only be cut. */
export function reply(res: ServerResponse, status: number): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const r = replyFor(status);
  res.writeHead(status, r.headers);
  res.end(r.body);
}

/** Answer on a raw socket (upgrade requests), then close it once the bytes are out. */
export function rawReply(socket: Duplex, status: number): void {
  if (socket.destroyed) return;
  socket.end(replyFor(status).raw, () => socket.destroy());
}
