import { config } from "zod/mini";
import { en } from "zod/locales";

/**
 * The exporter's schemas use zod/mini: the same validation as zod, but its functions are
 * separate exports that a bundle keeps only when used, where full zod brings every method and
 * every locale into the process (about 10 MB more resident memory in the exporter's bundle).
 * Import it as `import * as z from "../core/zod"` and reach only for named members, so the
 * bundler can still leave the rest out. zod/mini sets no locale of its own; English gives the
 * same messages as full zod, and those messages are what a failing source reports.
 */
config(en());

export * from "zod/mini";
