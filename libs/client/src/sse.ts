/**
 * A server-sent events parser (the WHATWG event-stream rules): text in, events out, chunk boundaries
 * anywhere (even inside `\r\n` or a multi-byte character when fed through {@link SseDecoder}).
 */

export interface SseEvent {
  /** The `event:` field, `message` when absent. */
  event: string;
  /** The `data:` lines, joined with `\n`. */
  data: string;
  /** The last event id seen on the stream so far (ids persist until changed), if any. */
  id: string | undefined;
  /** A `retry:` value (ms) received with or before this event, if any. */
  retry: number | undefined;
}

export class SseParser {
  private buffer = '';
  /** A chunk ended with `\r`: a `\n` at the start of the next one belongs to the same line end. */
  private skipLeadingLf = false;
  private data: string[] = [];
  private eventType = '';
  private sawData = false;
  /** The last event id, as the spec's "last event ID buffer". Send it back as `Last-Event-ID`. */
  lastEventId: string | undefined;
  /** The last `retry:` value, in ms. */
  retry: number | undefined;

  /** Feed decoded text; returns the events completed by it. */
  push(text: string): SseEvent[] {
    if (this.skipLeadingLf && text.startsWith('\n')) text = text.slice(1);
    this.skipLeadingLf = false;
    this.buffer += text;
    const events: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.buffer.slice(start, i);
      if (c === 13) {
        if (i + 1 < this.buffer.length) {
          if (this.buffer.charCodeAt(i + 1) === 10) i++;
        } else {
          this.skipLeadingLf = true;
        }
      }
      start = i + 1;
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /** End of stream: an event not terminated by a blank line is discarded (per spec). */
  end(): void {
    this.buffer = '';
    this.resetEvent();
  }

  private resetEvent(): void {
    this.data = [];
    this.eventType = '';
    this.sawData = false;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined; // comment / keep-alive
    const colon = line.indexOf(':');
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = '';
    } else {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
    }
    switch (field) {
      case 'data':
        this.data.push(value);
        this.sawData = true;
        break;
      case 'event':
        this.eventType = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    if (!this.sawData) {
      this.resetEvent();
      return undefined;
    }
    const event: SseEvent = {
      event: this.eventType || 'message',
      data: this.data.join('\n'),
      id: this.lastEventId,
      retry: this.retry,
    };
    this.resetEvent();
    return event;
  }
}

/** Bytes in, events out: a UTF-8 decoder in streaming mode in front of an {@link SseParser}. */
export class SseDecoder {
  readonly parser = new SseParser();
  private readonly decoder = new TextDecoder('utf-8');
  private first = true;

  push(chunk: Uint8Array): SseEvent[] {
    let text = this.decoder.decode(chunk, { stream: true });
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a leading BOM is not part of the stream
    }
    return this.parser.push(text);
  }

  end(): void {
    this.parser.push(this.decoder.decode());
    this.parser.end();
  }
}
