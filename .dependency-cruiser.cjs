/**
 * Import rules between the project's layers, checked by `npm run lint:imports` (part of `npm test`):
 *
 *   metrics/  <-  alerts/, dashboards/  <-  components/  <-  cli/
 *   metrics/  <-  exporter/             (the exporter image holds exporter/ and metrics/ only)
 *
 * bench/, test/, docs/ and index.ts may import anything. Each rule names the layer it guards, so a
 * violation reads as "<rule>: <from> → <to>" with the rule's comment saying what to do instead.
 */

/** A rule that fails the check; `comment` is printed under each violation, so it says what to do. */
const forbid = (name, comment, from, to) => ({ name, severity: "error", comment, from, to });

/** Files under `from` import none of ours (not Node's, not a package's) outside `allowed`. */
const layer = (name, comment, from, allowed) => forbid(name, comment, { path: from }, { dependencyTypes: ["local"], pathNot: allowed });

/** What the exporter image holds of ours (exporter/Dockerfile's COPY lines). */
const IMAGE = "^(exporter|metrics)/";

/** @type {import("dependency-cruiser").IConfiguration} */
module.exports = {
  forbidden: [
    forbid(
      "no-circular",
      "Modules that import each other load in an order that depends on who imports first; move what both need into a third module. A cycle closed only by type imports is erased at compile time and allowed.",
      {},
      { circular: true, viaOnly: { dependencyTypesNot: ["type-only", "type-import"] } },
    ),
    layer(
      "metrics-imports-nothing-of-ours",
      "metrics/ is the catalog everything else builds on (the exporter image included): it imports nothing of ours outside metrics/.",
      "^metrics/",
      "^metrics/",
    ),
    layer(
      "alerts-and-dashboards-import-metrics-only",
      "alerts/ and dashboards/ are pure renderers over the metric catalog: they import metrics/ and their own folder only. Shared vocabulary belongs in metrics/.",
      "^(alerts|dashboards)/",
      "^(metrics|$1)/",
    ),
    layer(
      "components-import-below-only",
      "components/ builds on metrics/, alerts/ and dashboards/; it never imports cli/ or test code, and from exporter/ only the rule for which sources the exporter accepts, so a stack config the exporter would refuse fails at preview.",
      "^components/",
      ["^(metrics|alerts|dashboards|components)/", "^exporter/source-rules\\.ts$"],
    ),
    layer(
      "exporter-imports-metrics-only",
      "The exporter image is built from exporter/ and metrics/ alone (exporter/Dockerfile): the exporter imports nothing of ours elsewhere.",
      "^exporter/",
      IMAGE,
    ),
    forbid(
      "exporter-image-production-packages-only",
      "The exporter image installs production dependencies only (npm ci --omit=dev): exporter/ and metrics/ import no devDependency and no package missing from package.json.",
      { path: IMAGE },
      { dependencyTypes: ["npm-dev", "npm-optional", "npm-peer", "npm-no-pkg", "npm-unknown", "unknown", "undetermined"] },
    ),
    forbid(
      "exporter-zod-mini-only",
      "The exporter reaches zod through exporter/core/zod.ts (zod/mini, English messages): full zod brings every method and locale into the bundle, megabytes of resident memory in the exporter.",
      { path: "^exporter/", pathNot: "^exporter/core/zod\\.ts$" },
      { path: "(^|/)node_modules/zod/" },
    ),
    forbid("exporter-image-no-pulumi", "The exporter image carries no Pulumi: exporter/ and metrics/ do not import @pulumi/*.", { path: IMAGE }, { path: "(^|/)node_modules/@pulumi/" }),
    forbid("not-to-unresolvable", "An import that resolves to no file.", {}, { couldNotResolve: true }),
  ],
  options: {
    doNotFollow: { path: "(^|/)node_modules/" },
    exclude: { path: "^(out|dist|\\.demo)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
