/**
 * Multi-WAN at run time: provider states (var/lib/gatehouse/wan), the routing apply
 * (one `ip -batch` per change), wan-uplink-update and the link monitor.
 */
export { type RoutingApplyResult, EMPTY_ROUTING, applyRoutingSpec, applyRoutingWith, describeRouting, providerStates, readRoutingSpec, readTarget } from './apply.js';
export { applyRouting } from './root.js';
export { type RoutingContent, routingPart } from './part.js';
export { type ProviderRecord, readProviderStates, wanDir, writeProviderState } from './state.js';
export { type RoutingSnapshot, parseTargetRouting, restoreCommands } from './target.js';
export { type UplinkUpdate, wanUplinkUpdate } from './uplink.js';
export { type MonitorOptions, type MonitorSettings, type ProbeResult, LinkTracker, monitorSettings, runMonitor } from './monitor.js';
