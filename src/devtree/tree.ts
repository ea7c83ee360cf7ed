/**
 * The device tree model and its helpers, in one import: the node model
 * (model.ts), value codecs (codec.ts) and reg decoding (reg.ts).
 */
export * from './model';
export * from './codec';
export * from './reg';
