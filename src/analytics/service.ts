import { badInput, TollgraphError } from '../errors';
import type { Logger } from '../ops/logger';
import { ANALYTICS_PATH, checkAnalyticsRequest, type AnalyticsAnswer } from './request';

/** The longest the gateway waits for the analytics worker's answer. */
const ANSWER_TIMEOUT_MS = 30_000;

export const analyticsNotConfigured = () =>
  new TollgraphError('SERVICE_UNAVAILABLE', 'Analytics is not configured on this gateway (ANALYTICS_URL is not set).', {
    fieldLevel: true,
    extensions: { reason: 'ANALYTICS_NOT_CONFIGURED' },
  });

const unavailable = (why: string) =>
  new TollgraphError('SERVICE_UNAVAILABLE', `Analytics is unavailable for a moment (${why}); try again.`, {
    fieldLevel: true,
    headers: { 'retry-after': '5' },
  });

/**
 * The gateway's side of analytics: checks a question (BAD_USER_INPUT before anything is asked),
 * then asks the analytics worker at ANALYTICS_URL, which runs the engine in its own process.
 */
export class AnalyticsService {
  constructor(private readonly options: { url?: string; maxRangeDays: number; logger: Logger }) {}

  async ask(input: Record<string, unknown>): Promise<AnalyticsAnswer> {
    const request = checkAnalyticsRequest(input, this.options.maxRangeDays);
    if (!this.options.url) throw analyticsNotConfigured();
    let response: Response;
    try {
      response = await fetch(new URL(ANALYTICS_PATH, this.options.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
      });
    } catch (error) {
      this.options.logger.warn({ err: error }, 'the analytics worker did not answer');
      throw unavailable('the analytics worker did not answer');
    }
    const body = (await response.json().catch(() => ({}))) as Partial<AnalyticsAnswer> & { error?: string; fields?: string[] };
    // Only when the worker allows less than this gateway (another ANALYTICS_MAX_RANGE_DAYS).
    if (response.status === 400) throw badInput(body.error ?? 'bad analytics request', { fields: body.fields });
    if (!response.ok || !body.rows) {
      this.options.logger.warn({ status: response.status, error: body.error }, 'the analytics worker failed');
      throw unavailable(`the analytics worker answered ${response.status}`);
    }
    return { rows: body.rows, truncated: Boolean(body.truncated) };
  }
}
