export * from './types.js';
export * from './render.js';
export {
  endpointChainName,
  isServiceChainName,
  serviceExternalChainName,
  serviceFirewallChainName,
  serviceLocalChainName,
  servicePortChainName,
} from './chain-names.js';
export { computeProbability } from './probability.js';
