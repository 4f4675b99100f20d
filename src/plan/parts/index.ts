/**
 * Every part a plan may hold. Adding a part = one file in this folder (or in its stage)
 * and one line in PLAN_PARTS; see src/plan/index.ts.
 */
import type { AnyPlanPart } from '../part.js';
import { filterV4Part, filterV6Part } from './filter.js';
import { ipsetsPart } from './ipsets.js';
import { runtimeIpsetsPart } from './runtime-ipsets.js';
import { sysctlsPart } from './sysctls.js';
import { qosPart } from '../../qos/part.js';
import { routingPart } from '../../wan/part.js';

export const PLAN_PARTS: readonly AnyPlanPart[] = [ipsetsPart, runtimeIpsetsPart, filterV4Part, filterV6Part, sysctlsPart, routingPart, qosPart];

export { filterV4Part, filterV6Part, ipsetsPart, qosPart, routingPart, runtimeIpsetsPart, sysctlsPart };
