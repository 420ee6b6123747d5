import { createApp } from './app';

export { Hub } from './hub/hub';
export { NodeLink } from './link/node-link';

export default createApp();
