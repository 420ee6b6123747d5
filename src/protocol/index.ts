export * from './messages';
export * from './close-codes';
export * from './frame';
export * from './hot-frames';
