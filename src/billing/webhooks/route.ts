import express, { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import Stripe from 'stripe';
import type { Config } from '../../config/schema';
import { sendError, TollgraphError } from '../../errors';
import type { Logger } from '../../ops/logger';
import { MalformedEvent, WebhookNotApplied, type StripeWebhooks } from './service';

export const STRIPE_WEBHOOK_PATH = '/webhooks/stripe';

interface StripeWebhookRouteOptions {
  config: Pick<Config, 'STRIPE_WEBHOOK_SECRET' | 'STRIPE_WEBHOOK_TOLERANCE_SECONDS' | 'STRIPE_WEBHOOK_MAX_BYTES'>;
  webhooks: StripeWebhooks;
  logger: Logger;
}

/**
 * `POST /webhooks/stripe`. Mounted before any JSON parser: the signature covers the raw bytes.
 * - body over STRIPE_WEBHOOK_MAX_BYTES: 413; not JSON, no or a bad `Stripe-Signature`, a
 *   timestamp outside STRIPE_WEBHOOK_TOLERANCE_SECONDS, not an event: 400. Nothing is stored.
 * - no STRIPE_WEBHOOK_SECRET configured: 503 (logged), so Stripe keeps the events for later.
 * - verified: 200 once the event is stored and applied (or was already); 500 when it could not be
 *   applied (kept as FAILED), 503 when the database is down. Never 200 for an event not applied.
 * Refusals carry the gateway's one error body (`{ errors: [{ message, extensions: { code } }] }`,
 * docs/contract.md): BAD_REQUEST, PAYLOAD_TOO_LARGE, SERVICE_UNAVAILABLE, INTERNAL_SERVER_ERROR.
 */
export function stripeWebhookRoute({ config, webhooks, logger }: StripeWebhookRouteOptions): Router {
  const router = Router();
  const log = logger.child({ component: 'stripe-webhooks' });

  const reject = (res: Response, code: 'BAD_REQUEST' | 'PAYLOAD_TOO_LARGE', message: string) => {
    webhooks.count('rejected');
    sendError(res, new TollgraphError(code, message));
  };

  // What the headers alone decide, before a byte of the body is read.
  const beforeBody = (req: Request, res: Response, next: () => void) => {
    if (!config.STRIPE_WEBHOOK_SECRET) {
      log.error('a Stripe webhook arrived but STRIPE_WEBHOOK_SECRET is not set: answering 503 (Stripe will retry); set the endpoint signing secret');
      webhooks.count('unavailable');
      sendError(res, new TollgraphError('SERVICE_UNAVAILABLE', 'Stripe webhooks are not configured on this gateway (STRIPE_WEBHOOK_SECRET is not set)'));
      return;
    }
    const header = req.headers['stripe-signature'];
    if (typeof header !== 'string' || header.length === 0) return reject(res, 'BAD_REQUEST', 'missing Stripe-Signature header');
    next();
  };

  router.post(
    STRIPE_WEBHOOK_PATH,
    beforeBody,
    express.raw({ type: 'application/json', limit: config.STRIPE_WEBHOOK_MAX_BYTES }),
    async (req: Request, res: Response) => {
      const secret = config.STRIPE_WEBHOOK_SECRET!;
      const header = req.headers['stripe-signature'] as string;
      if (!Buffer.isBuffer(req.body)) return reject(res, 'BAD_REQUEST', 'expected a JSON body (content-type: application/json)');

      let verified: unknown;
      try {
        verified = Stripe.webhooks.constructEvent(req.body, header, secret, config.STRIPE_WEBHOOK_TOLERANCE_SECONDS);
      } catch (error) {
        // Stripe's own reason (no matching signature, timestamp outside the tolerance…), first line only.
        const reason = String((error as Error).message)
          .split('\n')[0]
          .trim();
        log.warn({ reason }, 'Stripe webhook refused: signature does not verify');
        return reject(res, 'BAD_REQUEST', `signature verification failed: ${reason}`);
      }

      try {
        const status = await webhooks.receive(verified);
        res.status(200).json({ received: true, status });
      } catch (error) {
        if (error instanceof MalformedEvent) return reject(res, 'BAD_REQUEST', error.message);
        if (error instanceof WebhookNotApplied)
          return sendError(res, new TollgraphError(error.status === 503 ? 'SERVICE_UNAVAILABLE' : 'INTERNAL_SERVER_ERROR', error.message));
        log.error({ err: error }, 'Stripe webhook failed');
        sendError(res, new TollgraphError('INTERNAL_SERVER_ERROR', 'internal error'));
      }
    },
  );

  // Body errors (too large, bad encoding, aborted): refused before anything is read or stored.
  const bodyErrors: ErrorRequestHandler = (error: { type?: string; status?: number; message?: string }, req, res, next) => {
    if (req.path !== STRIPE_WEBHOOK_PATH || res.headersSent) return next(error);
    const tooLarge = error.type === 'entity.too.large';
    log.warn({ reason: error.message, type: error.type }, 'Stripe webhook refused: unreadable body');
    reject(res, tooLarge ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', tooLarge ? `body larger than ${config.STRIPE_WEBHOOK_MAX_BYTES} bytes` : 'unreadable body');
  };
  router.use(bodyErrors);
  return router;
}
