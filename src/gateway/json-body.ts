import express from 'express';
import type { Handler, HttpRequest } from './handler';

/** Content types read on the fast path, as clients send them (lower case, compared whole). */
const PLAIN_JSON = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);

/** A body-parser-shaped error (its `status` is what `jsonErrors` answers). */
function bodyError(status: number, message: string): Error {
  return Object.assign(new Error(message), { status, expose: true });
}

/**
 * A JSON request body of at most `limit` bytes. What nearly every GraphQL client sends (a plain
 * `application/json` body, UTF-8, with its Content-Length, not compressed) is read here: one
 * buffer, one `JSON.parse`. Everything else (compressed, chunked, other charsets, an empty or
 * oversized body, other media types) goes to express.json with the same limit, which decides as it
 * always did. body-parser's general path (the media type parsed by three libraries, the charset
 * decoder stream, raw-body's machinery) was most of the step "HTTP, body, routing" at maximum load:
 * 25-32 µs per request in the profiles, 8-10 with this path (BENCHMARKS.md).
 */
export function jsonBody(limit: number): Handler {
  const general = express.json({ limit }) as Handler;
  return (req, res, next) => {
    const { headers } = req;
    const type = headers['content-type'];
    const length = headers['content-length'];
    if (
      type === undefined ||
      length === undefined ||
      headers['content-encoding'] !== undefined ||
      headers['transfer-encoding'] !== undefined ||
      !(PLAIN_JSON.has(type) || PLAIN_JSON.has(type.toLowerCase()))
    )
      return general(req, res, next);
    const size = Number(length);
    if (!(size > 0 && size <= limit)) return general(req, res, next);
    readBody(req, (error, body) => {
      if (error) return next(error);
      try {
        req.body = parseObject(body!);
      } catch (parseError) {
        return next(parseError);
      }
      next();
    });
  };
}

/**
 * The body's bytes. Node's parser frames them by Content-Length: 'end' comes after exactly that
 * many, and a client that leaves before is an 'error'.
 */
function readBody(req: HttpRequest, done: (error: Error | undefined, body?: Buffer) => void): void {
  const chunks: Buffer[] = [];
  const onData = (chunk: Buffer) => chunks.push(chunk);
  const onEnd = () => {
    cleanup();
    done(undefined, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  };
  const onError = () => {
    cleanup();
    done(bodyError(400, 'request aborted'));
  };
  const cleanup = () => {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onError);
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onError);
}

/** JSON's whitespace (RFC 8259) before the first character. */
const FIRST_NON_WHITESPACE = /^[ \t\n\r]*(.?)/s;

/** UTF-8 (a byte-order mark dropped), and a JSON object or array, as body-parser's strict mode. */
function parseObject(body: Buffer): unknown {
  const hasBom = body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf;
  const text = body.toString('utf8', hasBom ? 3 : 0);
  if (text[0] !== '{' && text[0] !== '[') {
    const first = FIRST_NON_WHITESPACE.exec(text)![1];
    if (first !== '{' && first !== '[') throw bodyError(400, 'the body must be a JSON object');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw bodyError(400, (error as Error).message);
  }
}
