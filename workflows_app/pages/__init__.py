"""The HTML pages, one module per area: `runs` (the home list), `run` (one run), `workflows`,
`inbox`. Views are thin: they read through `workflows_app.payloads` (the API's helpers) and act
through `workflows_app.services`; `shell` fills what every page shows (the navigation)."""
