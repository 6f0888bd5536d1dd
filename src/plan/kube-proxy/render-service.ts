/**
 * The rules one service port contributes, in kube-proxy's order: the top-level entries (nat
 * KUBE-SERVICES / KUBE-NODEPORTS, filter REJECT/DROP, health-check ACCEPT, KUBE-PROXY-FIREWALL),
 * which are always written, then its own chains (SVC masquerade, EXT, FW, SVC/SVL dispatch, SEP),
 * which partial sync may send to a discarding buffer.
 */
import { LineBuffer, chainLine, quoted } from './line-buffer.js';
import { computeProbability } from './probability.js';
import { cidrHasIp } from './addresses.js';
import { endpointString } from './endpoints.js';
import type { ServicePlan } from './service-plan.js';
import type { LocalDetector, ProxyEndpoint } from './types.js';

export interface RenderContext {
  /** The local-traffic detector, if kube-proxy has one. */
  detector: LocalDetector | undefined;
  masqueradeAll: boolean;
  localhostNodePorts: boolean;
  nfacct: boolean;
  /** kube-proxy's primary nodeIP (IPv4), if known. */
  nodeIP: string | undefined;
  /** More than 1000 endpoints in total: per-endpoint comments are left out. */
  largeClusterMode: boolean;
  filterRules: LineBuffer;
  natRules: LineBuffer;
}

export interface ChainBuffers {
  natChains: LineBuffer;
  natRules: LineBuffer;
}

const MARK_MASQ = 'KUBE-MARK-MASQ';

/** Rules in KUBE-SERVICES, KUBE-NODEPORTS, KUBE-EXTERNAL-SERVICES and KUBE-PROXY-FIREWALL. */
export function writeServiceEntries(ctx: RenderContext, p: ServicePlan): void {
  const { filterRules, natRules } = ctx;
  const match = (ip: string, port: number): string[] => ['-m', p.proto, '-p', p.proto, '-d', ip, '--dport', String(port)];
  const port = p.sp.port;

  if (p.hasInternalEndpoints) {
    natRules.write('-A KUBE-SERVICES -m comment --comment', quoted(`${p.key} cluster IP`), match(p.clusterIP, port), '-j', p.internalChain);
  } else if (p.internalFilter) {
    const f = p.internalFilter;
    filterRules.write('-A KUBE-SERVICES -m comment --comment', f.comment, match(p.clusterIP, port), '-j', f.target);
  }

  for (const ip of p.externalIPs) {
    if (p.hasEndpoints) {
      natRules.write('-A KUBE-SERVICES -m comment --comment', quoted(`${p.key} external IP`), match(ip, port), '-j', p.extChain);
    }
    if (p.externalFilter) {
      const f = p.externalFilter;
      filterRules.write('-A KUBE-EXTERNAL-SERVICES -m comment --comment', f.comment, match(ip, port), '-j', f.target);
    }
  }

  for (const ip of p.lbIPs) {
    if (p.hasEndpoints) {
      natRules.write('-A KUBE-SERVICES -m comment --comment', quoted(`${p.key} loadbalancer IP`), match(ip, port), '-j', p.lbChain);
    }
    if (p.usesFwChain) {
      const comment = quoted(`${p.key} traffic not accepted by ${p.fwChain}`);
      filterRules.write('-A KUBE-PROXY-FIREWALL -m comment --comment', comment, match(ip, port), '-j DROP');
    }
  }
  if (p.externalFilter) {
    const f = p.externalFilter;
    for (const ip of p.lbIPs) {
      filterRules.write('-A KUBE-EXTERNAL-SERVICES -m comment --comment', f.comment, match(ip, port), '-j', f.target);
    }
  }

  const nodePort = p.sp.nodePort ?? 0;
  if (nodePort !== 0) {
    const head = ['-A KUBE-NODEPORTS -m comment --comment', p.key, '-m', p.proto, '-p', p.proto];
    if (p.hasEndpoints) {
      if (ctx.localhostNodePorts && ctx.nfacct) {
        natRules.write(head, '-d 127.0.0.0/8 --dport', String(nodePort), '-m nfacct --nfacct-name localhost_nps_accepted_pkts -j', p.extChain);
      }
      natRules.write(head, '--dport', String(nodePort), '-j', p.extChain);
    }
    if (p.externalFilter) {
      const f = p.externalFilter;
      filterRules.write('-A KUBE-EXTERNAL-SERVICES -m comment --comment', f.comment, '-m addrtype --dst-type LOCAL -m', p.proto, '-p', p.proto, '--dport', String(nodePort), '-j', f.target);
    }
  }

  const hc = p.sp.healthCheckNodePort ?? 0;
  if (hc !== 0 && p.externalLocal) {
    filterRules.write('-A KUBE-NODEPORTS -m comment --comment', quoted(`${p.key} health check node port`), '-m tcp -p tcp --dport', String(hc), '-j ACCEPT');
  }
}

/** Per-service nat chains: SVC masquerade rule, EXT, FW, SVC and SVL dispatch, SEP chains. */
export function writeServiceChains(ctx: RenderContext, p: ServicePlan, out: ChainBuffers): void {
  const { natChains, natRules } = out;
  const ifLocal = ctx.detector?.ifLocal;

  if (p.hasInternalEndpoints) {
    const args = ['-A', p.internalChain, '-m comment --comment', quoted(`${p.key} cluster IP`), '-m', p.proto, '-p', p.proto, '-d', p.clusterIP, '--dport', String(p.sp.port)];
    if (ctx.masqueradeAll) natRules.write(args, '-j', MARK_MASQ);
    else if (ctx.detector) natRules.write(args, ctx.detector.ifNotLocal, '-j', MARK_MASQ);
  }

  if (p.usesExtChain) {
    natChains.write(chainLine(p.extChain));
    const ext = ['-A', p.extChain];
    if (!p.externalLocal) {
      natRules.write(ext, '-m comment --comment', quoted(`masquerade traffic for ${p.key} external destinations`), '-j', MARK_MASQ);
    } else {
      if (ifLocal) natRules.write(ext, '-m comment --comment', quoted(`pod traffic for ${p.key} external destinations`), ifLocal, '-j', p.svcChain);
      natRules.write(ext, '-m comment --comment', quoted(`masquerade LOCAL traffic for ${p.key} external destinations`), '-m addrtype --src-type LOCAL -j', MARK_MASQ);
      natRules.write(ext, '-m comment --comment', quoted(`route LOCAL traffic for ${p.key} external destinations`), '-m addrtype --src-type LOCAL -j', p.svcChain);
    }
    if (p.hasExternalEndpoints) natRules.write(ext, '-j', p.externalPolicyChain);
  }

  if (p.usesFwChain) {
    natChains.write(chainLine(p.fwChain));
    const fw = ['-A', p.fwChain, '-m comment --comment', quoted(`${p.key} loadbalancer IP`)];
    let allowFromNode = false;
    for (const cidr of p.sourceRanges) {
      natRules.write(fw, '-s', cidr, '-j', p.extChain);
      if (ctx.nodeIP !== undefined && cidrHasIp(cidr, ctx.nodeIP)) allowFromNode = true;
    }
    if (allowFromNode) for (const ip of p.lbIPs) natRules.write(fw, '-s', ip, '-j', p.extChain);
    natRules.write('-A', p.fwChain, '-m comment --comment', quoted(`other traffic to ${p.key} will be dropped by KUBE-PROXY-FIREWALL`));
  }

  if (p.usesClusterChain) {
    natChains.write(chainLine(p.svcChain));
    writeDispatch(ctx, p, natRules, p.svcChain, p.sets.cluster);
  }
  if (p.usesLocalChain) {
    natChains.write(chainLine(p.svlChain));
    writeDispatch(ctx, p, natRules, p.svlChain, p.sets.local);
  }

  for (const ep of p.sets.reachable) {
    const sep = p.sepChain(ep);
    natChains.write(chainLine(sep));
    const args = ['-A', sep, ...comment(ctx, p.key)];
    natRules.write(args, '-s', ep.ip, '-j', MARK_MASQ);
    const affinity = p.affinitySeconds === undefined ? [] : ['-m recent --name', sep, '--set'];
    natRules.write(args, affinity, '-m', p.proto, '-p', p.proto, '-j DNAT --to-destination', endpointString(ep));
  }
}

/** Comment words for per-endpoint rules; none in large-cluster mode. Quoted only when given quoted. */
function comment(ctx: RenderContext, text: string): string[] {
  return ctx.largeClusterMode ? [] : ['-m comment --comment', text];
}

/** SVC/SVL → SEP: affinity checks for every endpoint first, then 1/(n−i) statistic rules. */
function writeDispatch(ctx: RenderContext, p: ServicePlan, natRules: LineBuffer, chain: string, endpoints: ProxyEndpoint[]): void {
  if (p.affinitySeconds !== undefined) {
    for (const ep of endpoints) {
      const sep = p.sepChain(ep);
      const c = comment(ctx, quoted(`${p.key} -> ${endpointString(ep)}`));
      natRules.write('-A', chain, c, '-m recent --name', sep, '--rcheck --seconds', String(p.affinitySeconds), '--reap -j', sep);
    }
  }
  const n = endpoints.length;
  endpoints.forEach((ep, i) => {
    const c = comment(ctx, quoted(`${p.key} -> ${endpointString(ep)}`));
    const statistic = i < n - 1 ? ['-m statistic --mode random --probability', computeProbability(n - i)] : [];
    natRules.write('-A', chain, c, statistic, '-j', p.sepChain(ep));
  });
}
