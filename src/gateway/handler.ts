import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthState } from '../auth/viewer';

/** What the handlers of an API route keep on its answer, under express (the registry) or not (/graphql). */
export interface RouteLocals {
  /** Who is calling, decided before the body is read. */
  auth?: AuthState;
  /** The operation's root fields (the guard's label), once known: the request's SLA record. */
  operation?: string;
}

declare module 'express-serve-static-core' {
  interface Locals extends RouteLocals {}
}

/** A request as the API routes' handlers read it: Node's own, or express's (which adds these). */
export interface HttpRequest extends IncomingMessage {
  /** The URL as received, where a router mounted on a path rewrote `url`. */
  originalUrl?: string;
  body?: unknown;
  /** `clientIpOf`'s answer, kept: the proxy headers are walked once per request. */
  clientIp?: string;
}

/** An answer as the API routes' handlers write it: Node's own, or express's. */
export interface HttpResponse extends ServerResponse {
  locals: RouteLocals;
}

/** A step of an API route, as express and connect call one: next() goes on, next(error) answers the error. */
export type Handler = (req: HttpRequest, res: HttpResponse, next: (error?: unknown) => void) => unknown;
