import pkg from './package.json';

/** The agent's version: the `version` of nodes/package.json (inlined by the build). */
export const AGENT_VERSION: string = pkg.version;
