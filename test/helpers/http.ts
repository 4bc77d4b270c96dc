/**
 * A browser's side of the REST API: a cookie jar (session and CSRF cookies), JSON bodies, and
 * the CSRF header a page's script sends on every state-changing request. Before its first such
 * request it loads a page, as a browser would, to receive the CSRF cookie.
 */
export interface BrowserResponse {
  status: number;
  text: string;
  json: unknown;
  headers: Headers;
}

export type Browser = ((method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<BrowserResponse>) & {
  /** The Cookie header this browser sends (for socket.io clients of the same browser). */
  cookie: () => string;
  /** Drops a cookie, or sets one (an attacker planting a value). */
  setCookie: (name: string, value: string | undefined) => void;
  csrfToken: () => string | undefined;
};

export function browser(baseUrl: () => string, options: { csrf?: boolean } = {}): Browser {
  const jar = new Map<string, string>();
  const header = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const store = (response: Response) => {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  };
  const send = async (method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<BrowserResponse> => {
    const changing = !['GET', 'HEAD', 'OPTIONS'].includes(method);
    if (changing && (options.csrf ?? true) && !jar.has('kd_csrf')) store(await fetch(`${baseUrl()}/api/session`, { headers: { cookie: header() } }));
    const response = await fetch(`${baseUrl()}${path}`, {
      method,
      headers: {
        ...(jar.size > 0 ? { cookie: header() } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(changing && (options.csrf ?? true) && jar.has('kd_csrf') ? { 'x-csrf-token': jar.get('kd_csrf') ?? '' } : {}),
        ...extra,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    store(response);
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, text, json, headers: response.headers };
  };
  return Object.assign(send, {
    cookie: header,
    setCookie: (name: string, value: string | undefined) => {
      if (value === undefined) jar.delete(name);
      else jar.set(name, value);
    },
    csrfToken: () => jar.get('kd_csrf'),
  });
}
