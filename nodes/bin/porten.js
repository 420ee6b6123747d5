#!/usr/bin/env node
// Plain JS so `porten` runs without a build step: register tsx, then load the TypeScript CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli.ts');
const code = await main(process.argv.slice(2), process.env);
process.exit(code);
