// api-docs.js starts Swagger UI (vendor/swagger-ui, a classic script that
// defines window.SwaggerUIBundle and runs before this deferred script) on
// the server's OpenAPI document, for the page at /api/docs.
/* global SwaggerUIBundle */
window.ui = SwaggerUIBundle({
  url: '/api/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
  // The default sends the document to a public validator and shows its
  // badge as an image from there: nothing leaves the site.
  validatorUrl: null,
});
