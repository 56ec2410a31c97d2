// HTTP to Catchpoint's REST API: throttled to a few requests per second, every attempt bounded by a
// timeout and every answer by a size cap, 429/5xx/network failures retried with backoff (Retry-After
// honoured), and errors that carry Catchpoint's own message. Clock, sleep and fetch are injected so tests run
// without waiting.

import { backoffDelay, sleep } from '../shared/backoff.js';
import { isObject } from '../shared/json-fields.js';

export type ApiErrorKind =
  /** Credentials refused (401/403, a refused token request, an expired token that could not be renewed). */
  | 'auth'
  /** Any other answer that is not a success, after retries where they apply. */
  | 'http'
  /** No answer: connection refused, reset, DNS, … (after retries). */
  | 'network'
  /** No answer within the timeout (after retries). */
  | 'timeout'
  /** A success answer whose body is not what the API documents, or an answer past the size cap. */
  | 'response';

export class CatchpointApiError extends Error {
  override name = 'CatchpointApiError';
  constructor(
    message: string,
    readonly kind: ApiErrorKind,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface HttpOptions {
  /** Base URL, e.g. `https://io.catchpoint.com` (no trailing slash needed). */
  baseUrl: string;
  fetch?: typeof fetch;
  /** Upper bound of one attempt, body included. Default 15 s. */
  timeoutMs?: number;
  /** The most bytes of one answer's body read; a longer answer fails (not retried). Default 16 MiB. */
  maxBodyBytes?: number;
  /** Attempts per request, the first included. Default 4 (3 retries). */
  maxAttempts?: number;
  /** Least time between the starts of two requests (the throttle). Default 250 ms: 4 requests per second. */
  minIntervalMs?: number;
  /** First backoff delay; it doubles on every retry (with jitter). Default 1 s. */
  backoffBaseMs?: number;
  /** Largest backoff delay. Default 20 s. */
  maxBackoffMs?: number;
  /** A Retry-After longer than this is not waited for: the request fails at once. Default 60 s. */
  maxRetryAfterMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Epoch milliseconds. */
  now?: () => number;
  /** In [0, 1); jitter of the backoff. */
  random?: () => number;
  /** Told about every retry, e.g. to log it. */
  onRetry?: (retry: RetryNotice) => void;
  /**
   * Epoch milliseconds after which no attempt starts and no retry is waited for (say, the Lambda's end minus
   * what the run needs after the fetch); undefined = no deadline. Asked before every attempt.
   */
  deadline?: () => number | undefined;
  /** Awaited before every attempt, retries included, after the throttle: a rate limiter's turn (backfill). */
  pace?: () => Promise<void>;
  /** Told the status and headers of every answer, e.g. to read `X-Rate-Limit-*`. */
  onHeaders?: (status: number, headers: Headers) => void;
}

export interface RetryNotice {
  method: string;
  path: string;
  /** The attempt that failed (1 = the first). */
  attempt: number;
  status?: number;
  reason: string;
  delayMs: number;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  /** Path and query, starting with `/`. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** An answer that was not retried away: any 2xx, or a 4xx other than 429. */
export interface CatchpointAnswer {
  status: number;
  /** The parsed JSON body; undefined when the body is empty or not JSON. */
  json: unknown;
  text: string;
}

const RETRIABLE = (status: number) => status === 429 || status >= 500;

/** The defaults of HttpOptions, which every refresh uses (docs/node-refresh.md quotes them). */
export const HTTP_DEFAULTS = {
  timeoutMs: 15_000,
  /**
   * The largest answer is v1's whole node list in one body (v2 pages by 100; its Enterprise list is one
   * account's own nodes). A v1 item is about 450–600 bytes, so Catchpoint's whole network of some 3,000
   * nodes plus an account's own stays within 2–3 MB: 16 MiB (about 38,000 nodes) leaves at least 5 times
   * that, and such an answer, read and normalised, still fits the function's 256 MB (docs/node-refresh.md,
   * "Requests", has the measurement).
   */
  maxBodyBytes: 16 * 1024 * 1024,
  /** Attempts, the first included: 3 retries. */
  maxAttempts: 4,
  minIntervalMs: 250,
  backoffBaseMs: 1000,
  maxBackoffMs: 20_000,
  maxRetryAfterMs: 60_000,
} as const;

export class CatchpointHttp {
  private readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly maxAttempts: number;
  private readonly minIntervalMs: number;
  private readonly backoffBaseMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly onRetry: ((retry: RetryNotice) => void) | undefined;
  private readonly deadline: (() => number | undefined) | undefined;
  private readonly pace: (() => Promise<void>) | undefined;
  private readonly onHeaders: ((status: number, headers: Headers) => void) | undefined;
  private nextStartMs = 0;

  constructor(options: HttpOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetchFn = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? HTTP_DEFAULTS.timeoutMs;
    this.maxBodyBytes = options.maxBodyBytes ?? HTTP_DEFAULTS.maxBodyBytes;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? HTTP_DEFAULTS.maxAttempts);
    this.minIntervalMs = options.minIntervalMs ?? HTTP_DEFAULTS.minIntervalMs;
    this.backoffBaseMs = options.backoffBaseMs ?? HTTP_DEFAULTS.backoffBaseMs;
    this.maxBackoffMs = options.maxBackoffMs ?? HTTP_DEFAULTS.maxBackoffMs;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? HTTP_DEFAULTS.maxRetryAfterMs;
    this.sleep = options.sleep ?? sleep;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.onRetry = options.onRetry;
    this.deadline = options.deadline;
    this.pace = options.pace;
    this.onHeaders = options.onHeaders;
  }

  /** Sends the request, retrying 429, 5xx, timeouts and network failures; any other answer is returned. */
  async send(request: HttpRequest): Promise<CatchpointAnswer> {
    const what = `${request.method} ${request.path}`;
    for (let attempt = 1; ; attempt++) {
      await this.throttle();
      await this.pace?.();
      const timeoutMs = this.attemptTimeout(what, attempt);
      let answer: CatchpointAnswer & { retryAfter: string | null; rateLimitReset: string | null };
      try {
        answer = await this.attempt(request, timeoutMs);
      } catch (error) {
        // An answer too large now will be too large on the next attempt.
        if (error instanceof CatchpointApiError) throw error;
        const timedOut =
          error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
        const reason = timedOut ? `no answer within ${timeoutMs} ms` : describeNetworkError(error);
        const kind = timedOut ? 'timeout' : 'network';
        if (attempt >= this.maxAttempts) {
          throw new CatchpointApiError(
            `Catchpoint ${what} failed after ${attempt} attempt(s): ${reason}`,
            kind,
          );
        }
        await this.waitToRetry(request, attempt, undefined, reason, this.backoff(attempt), kind);
        continue;
      }
      if (!RETRIABLE(answer.status)) return { status: answer.status, json: answer.json, text: answer.text };

      const reason = `${answer.status}${messageSuffix(answer)}`;
      const retryAfterMs =
        parseRetryAfter(answer.retryAfter, this.now()) ??
        (answer.status === 429 ? parseRateLimitReset(answer.rateLimitReset, this.now()) : undefined);
      if (retryAfterMs !== undefined && retryAfterMs > this.maxRetryAfterMs) {
        throw new CatchpointApiError(
          `Catchpoint ${what} answered ${reason}; it asks to retry after ${Math.ceil(retryAfterMs / 1000)} s, ` +
            `longer than the ${Math.ceil(this.maxRetryAfterMs / 1000)} s this client waits`,
          'http',
          answer.status,
        );
      }
      if (attempt >= this.maxAttempts) {
        throw new CatchpointApiError(
          `Catchpoint ${what} answered ${reason} (after ${attempt} attempts)`,
          'http',
          answer.status,
        );
      }
      const delayMs = retryAfterMs ?? this.backoff(attempt);
      await this.waitToRetry(request, attempt, answer.status, reason, delayMs, 'http');
    }
  }

  private async attempt(
    request: HttpRequest,
    timeoutMs: number,
  ): Promise<CatchpointAnswer & { retryAfter: string | null; rateLimitReset: string | null }> {
    const response = await this.fetchFn(`${this.baseUrl}${request.path}`, {
      method: request.method,
      headers: { accept: 'application/json', ...request.headers },
      body: request.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await this.readBody(request, response);
    this.onHeaders?.(response.status, response.headers);
    return {
      status: response.status,
      json: parseJson(text),
      text,
      retryAfter: response.headers.get('retry-after'),
      rateLimitReset: response.headers.get('x-rate-limit-reset'),
    };
  }

  /**
   * The body as text, read as a stream and given up past `maxBodyBytes` (a Content-Length past it is refused
   * before reading). The attempt's timeout signal covers the reading too.
   */
  private async readBody(request: HttpRequest, response: Response): Promise<string> {
    const tooLarge = (size: string) =>
      new CatchpointApiError(
        `Catchpoint ${request.method} ${request.path} answered ${response.status} with a body ${size}past the ` +
          `${this.maxBodyBytes} bytes this client reads`,
        'response',
        response.status,
      );
    const declared = Number(response.headers.get('content-length'));
    if (declared > this.maxBodyBytes) {
      await response.body?.cancel().catch(() => {});
      throw tooLarge(`of ${declared} bytes, `);
    }
    if (response.body === null) return '';
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += chunk.byteLength;
      // Leaving the loop early cancels the stream, which closes the connection.
      if (size > this.maxBodyBytes) throw tooLarge('');
      chunks.push(chunk);
    }
    // As response.text() decodes: UTF-8, a byte-order mark dropped.
    return new TextDecoder().decode(Buffer.concat(chunks, size));
  }

  /** Milliseconds left before the deadline; undefined without one. */
  private remainingMs(): number | undefined {
    const deadline = this.deadline?.();
    return deadline === undefined ? undefined : deadline - this.now();
  }

  /** The timeout of the next attempt: the configured one, shortened to what is left before the deadline. */
  private attemptTimeout(what: string, attempt: number): number {
    const remaining = this.remainingMs();
    if (remaining === undefined) return this.timeoutMs;
    if (remaining <= 0) {
      throw new CatchpointApiError(`Catchpoint ${what}: out of time before attempt ${attempt}`, 'timeout');
    }
    return Math.min(this.timeoutMs, Math.ceil(remaining));
  }

  private async waitToRetry(
    request: HttpRequest,
    attempt: number,
    status: number | undefined,
    reason: string,
    delayMs: number,
    kind: ApiErrorKind,
  ): Promise<void> {
    const remaining = this.remainingMs();
    if (remaining !== undefined && delayMs >= remaining) {
      throw new CatchpointApiError(
        `Catchpoint ${request.method} ${request.path} ${status === undefined ? 'failed: ' : 'answered '}${reason}; ` +
          `no time left to retry in ${delayMs} ms`,
        kind,
        status,
      );
    }
    this.onRetry?.({ method: request.method, path: request.path, attempt, status, reason, delayMs });
    if (delayMs > 0) await this.sleep(delayMs);
  }

  /** Exponential backoff with jitter: between half and all of base·2^(attempt-1), capped. */
  private backoff(attempt: number): number {
    return backoffDelay(attempt, this.backoffBaseMs, this.maxBackoffMs, this.random);
  }

  private async throttle(): Promise<void> {
    const now = this.now();
    const start = Math.max(now, this.nextStartMs);
    this.nextStartMs = start + this.minIntervalMs;
    if (start > now) await this.sleep(start - now);
  }
}

/** `Retry-After` in milliseconds: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * `X-Rate-Limit-Reset` in milliseconds from now. Catchpoint documents the header but not its unit: a small
 * number is read as seconds to wait, an epoch in seconds or milliseconds as that instant, else an HTTP date.
 * Undefined when absent or unreadable.
 */
export function parseRateLimitReset(value: string | null | undefined, nowMs: number): number | undefined {
  const trimmed = value?.trim();
  if (!trimmed) return undefined;
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) {
    const n = Number(trimmed);
    if (n >= 1e12) return Math.max(0, Math.ceil(n - nowMs));
    if (n >= 1e9) return Math.max(0, Math.ceil(n * 1000 - nowMs));
    return Math.ceil(n * 1000);
  }
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * Catchpoint's own explanation in an answer: v2's `errors[].message`, v1's `Message`, OAuth's
 * `error_description`/`error`; else the start of a non-JSON body (a gateway's error page).
 */
export function catchpointMessage(answer: Pick<CatchpointAnswer, 'json' | 'text'>): string | undefined {
  const body = answer.json;
  if (isObject(body)) {
    const messages: string[] = [];
    if (Array.isArray(body.errors)) {
      for (const error of body.errors) {
        if (isObject(error) && typeof error.message === 'string' && error.message.trim()) {
          messages.push(error.message.trim());
        } else if (typeof error === 'string' && error.trim()) messages.push(error.trim());
      }
    }
    for (const key of ['Message', 'message', 'error_description', 'error']) {
      const value = body[key];
      if (typeof value === 'string' && value.trim()) messages.push(value.trim());
    }
    return messages.length > 0 ? clip([...new Set(messages)].join('; ')) : undefined;
  }
  const text = answer.text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text ? clip(text) : undefined;
}

/** `": <Catchpoint's message>"`, or nothing when the answer has none. */
export function messageSuffix(answer: Pick<CatchpointAnswer, 'json' | 'text'>): string {
  const message = catchpointMessage(answer);
  return message ? `: ${message}` : '';
}

function clip(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  const causeText =
    cause instanceof Error
      ? 'code' in cause && typeof cause.code === 'string'
        ? cause.code
        : cause.message
      : '';
  return causeText ? `${error.message} (${causeText})` : error.message;
}
