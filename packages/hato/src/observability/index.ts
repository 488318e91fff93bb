export { type AdminOptions, type AdminServer, metricsRegistry, startAdmin } from './admin.js';
export { type SysOptions, startSys } from './sys.js';
