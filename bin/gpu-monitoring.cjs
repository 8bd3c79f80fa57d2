#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so `npx gpu-monitoring` needs no build step.
"use strict";
const path = require("node:path");
require("tsx/cjs");
void require(path.join(__dirname, "..", "cli", "main.ts")).run(process.argv);
