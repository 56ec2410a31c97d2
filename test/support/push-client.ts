export interface PushReply {
  status: number;
  body: Record<string, unknown>;
}

/** POSTs a body to a bridge's /push; `token` goes in the query string, as Catchpoint sends it. */
export async function push(baseUrl: string, body: string | Buffer, token?: string): Promise<PushReply> {
  const url = `${baseUrl}/push${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}`;
  const response = await fetch(url, { method: 'POST', body, signal: AbortSignal.timeout(30_000) });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
