#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so a checkout and an install behave the same.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
await main(process.argv.slice(2));
