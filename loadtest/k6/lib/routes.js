// routes.js: every API path the scenarios call, as OpenAPI templates. The
// scenarios build URLs only through path(); TestLoadScenarios compares this
// list with GET /api/openapi.json so a renamed route fails `make test`.
export const ROUTES = {
  events: ['GET', '/api/events'],
  event: ['GET', '/api/events/{event}'],
  seatmap: ['GET', '/api/events/{event}/seatmap'],
  availability: ['GET', '/api/events/{event}/availability'],
  challenge: ['GET', '/api/events/{event}/queue/challenge'],
  join: ['POST', '/api/events/{event}/queue'],
  queueMe: ['GET', '/api/events/{event}/queue/me'],
  hold: ['POST', '/api/events/{event}/holds'],
  checkout: ['POST', '/api/holds/{hold}/checkout'],
  confirm: ['POST', '/api/payments/{payment}/confirm'],
};

// path fills a route's {params}.
export function path(name, params = {}) {
  return ROUTES[name][1].replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(params[k]));
}
