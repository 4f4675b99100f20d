/**
 * Traffic shaping: the tc classes, the red interfaces' bandwidths and the class rules
 * become mangle rows and fireqos.conf (pure, model.ts); FireQOS runs against a target
 * (fireqos.ts) after the target's kernel is probed for what it lacks (kernel.ts).
 */
export { buildQosModel, fireqosBlock, rateParams, DEFAULT_LEAF_QDISC, FALLBACK_LEAF_QDISC, LEAF_QDISCS } from './model.js';
export type { ClassRates, FireqosBlock, LeafQdisc, QosModel, QosOptions, ShapedClass, ShapedInterface } from './model.js';
export {
  choose,
  compareClasses,
  kernelFallbackWarnings,
  parseFireqosReport,
  parseProbe,
  parseTcClasses,
  parseTcRate,
  probeKernel,
  readDirectives,
  readLiveClasses,
  shapesAnything,
  startFireqos,
  stateDirFor,
  stopFireqos,
} from './fireqos.js';
export type { AppliedClass, FireqosDirectives, FireqosResult, KernelFeatures, LiveClass, QosRunner } from './fireqos.js';
export { qosPart, parseQosConf, QOS_FILE, type QosContent, type QosRecord } from './part.js';
