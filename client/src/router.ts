/**
 * A small history router: same-origin links change the page without a reload. A handler gets
 * `leave`, aborted when another page is shown: what the page started (sockets, timers) stops then.
 */
export type RouteHandler = (params: Record<string, string>, url: URL, leave: AbortSignal) => Promise<void> | void;

interface Route {
  pattern: RegExp;
  keys: string[];
  handler: RouteHandler;
}

export class Router {
  private readonly routes: Route[] = [];
  private readonly notFound: RouteHandler;
  private page: AbortController | undefined;

  constructor(notFound: RouteHandler) {
    this.notFound = notFound;
    window.addEventListener('popstate', () => {
      void this.dispatch(new URL(location.href));
    });
    document.addEventListener('click', (event) => {
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      const anchor = (event.target as Element | null)?.closest('a');
      if (!anchor || anchor.target === '_blank' || anchor.hasAttribute('download')) return;
      const url = new URL(anchor.href, location.href);
      if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
      if (url.pathname === location.pathname && url.hash) return; // in-page anchor: let the browser scroll
      event.preventDefault();
      this.go(url.pathname + url.search + url.hash);
    });
  }

  add(path: string, handler: RouteHandler): this {
    const keys: string[] = [];
    const pattern = new RegExp(`^${path.replace(/:([a-zA-Z]+)/g, (_m, key: string) => {
      keys.push(key);
      return '([^/]+)';
    })}/?$`);
    this.routes.push({ pattern, keys, handler });
    return this;
  }

  go(path: string): void {
    history.pushState(null, '', path);
    void this.dispatch(new URL(location.href));
  }

  async dispatch(url: URL): Promise<void> {
    this.page?.abort();
    const page = new AbortController();
    this.page = page;
    for (const route of this.routes) {
      const match = route.pattern.exec(url.pathname);
      if (!match) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((key, i) => {
        params[key] = decodeURIComponent(match[i + 1] ?? '');
      });
      await route.handler(params, url, page.signal);
      return;
    }
    await this.notFound({}, url, page.signal);
  }
}
