// Renders openapi.json (beside this page, under whatever prefix credvault
// is mounted) with Swagger UI. No validator badge (it would
// load an image from another site) and no external requests at all.
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: new URL("openapi.json", window.location.href).href,
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
    tryItOutEnabled: false,
  });
});
