export { type ApplyMode, parseApplyMode, resolveApplyMode, formatApplyMode } from './mode.js';
