// SPDX-License-Identifier: Apache-2.0
// Radar's client. It polls /api/v1/graph every second and applies the difference to the
// cytoscape graph, so zoom, selection and the filter survive updates without a reload.
// Identity and workload names come from container images and labels, i.e. from whoever runs
// a container: every such text goes into the page through textContent, never as HTML.

const POLL_MS = 1000;
const root = getComputedStyle(document.documentElement);
const colour = (name) => root.getPropertyValue(`--${name}`).trim();

const cy = cytoscape({
  container: document.getElementById('graph'),
  minZoom: 0.2,
  maxZoom: 3,
  wheelSensitivity: 0.3,
  style: [
    {
      selector: 'node',
      style: {
        shape: 'round-rectangle',
        width: 'label',
        height: 'label',
        padding: '12px',
        label: 'data(label)',
        'text-wrap': 'wrap',
        'text-valign': 'center',
        'text-halign': 'center',
        'font-size': 12,
        color: '#fff',
        'background-color': colour('off'),
      },
    },
    { selector: 'node[mode = "learn"]', style: { 'background-color': colour('learn') } },
    { selector: 'node[mode = "alert"]', style: { 'background-color': colour('alert') } },
    { selector: 'node[mode = "block"]', style: { 'background-color': colour('block') } },
    { selector: 'node[kind = "world"]', style: { shape: 'ellipse', 'background-color': colour('world') } },
    { selector: 'node[kind = "host"]', style: { shape: 'hexagon', 'background-color': colour('host') } },
    // An identity in the model with nothing of it running on this node.
    {
      selector: 'node[kind = "workload"][workloads = 0]',
      style: { 'background-opacity': 0.45, 'border-width': 2, 'border-style': 'dashed', 'border-color': colour('off') },
    },
    { selector: 'node:selected', style: { 'border-width': 4, 'border-color': '#ffca28', 'border-style': 'solid' } },
    {
      selector: 'edge',
      style: {
        'curve-style': 'bezier',
        width: 2,
        'line-color': colour('learned'),
        'target-arrow-color': colour('learned'),
        'target-arrow-shape': 'triangle',
        label: 'data(label)',
        'font-size': 11,
        color: '#1d2430',
        'text-rotation': 'autorotate',
        'text-background-color': '#ffffff',
        'text-background-opacity': 0.85,
        'text-background-padding': '2px',
      },
    },
    {
      selector: 'edge[state = "alerted"]',
      style: { 'line-color': colour('alerted'), 'target-arrow-color': colour('alerted'), 'line-style': 'dashed' },
    },
    {
      selector: 'edge[state = "blocked"]',
      style: { 'line-color': colour('blocked'), 'target-arrow-color': colour('blocked'), 'target-arrow-shape': 'tee', width: 3 },
    },
    { selector: '.hidden', style: { display: 'none' } },
  ],
});

const state = { graph: { nodes: [], edges: [] }, selected: null, filter: '', updates: 0, error: null };
// For the browser test and for curious operators at the console.
window.radar = { cy, state };

const nodeId = (name) => `n:${name}`;
const edgeId = (edge) => `e:${edge.source}>${edge.target}:${edge.label}:${edge.state}`;

function duration(seconds) {
  if (seconds < 90) return `${seconds}s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)}m`;
  return `${Math.round(seconds / 3600)}h`;
}

function modeText(node) {
  if (node.kind !== 'workload') return node.kind;
  if (!node.mode) return 'not running';
  if (node.mode === 'learn' && node.learning_remaining_s != null)
    return `learn · ${duration(node.learning_remaining_s)} left`;
  return node.mode;
}

function nodeLabel(node) {
  if (node.kind !== 'workload') return node.id;
  const running = node.workloads === 1 ? '1 workload' : `${node.workloads} workloads`;
  return `${node.id}\n${modeText(node)} · ${running}`;
}

function edgeLabel(edge) {
  return edge.state === 'learned' || edge.count <= 1 ? edge.label : `${edge.label} ×${edge.count}`;
}

// Adds, updates and removes elements so the graph equals `graph`; true if nodes came or went.
function applyGraph(graph) {
  const wanted = new Map();
  for (const node of graph.nodes)
    wanted.set(nodeId(node.id), { group: 'nodes', data: { ...node, id: nodeId(node.id), name: node.id, label: nodeLabel(node) } });
  for (const edge of graph.edges) {
    const id = edgeId(edge);
    wanted.set(id, {
      group: 'edges',
      data: { ...edge, id, source: nodeId(edge.source), target: nodeId(edge.target), port: edge.label, label: edgeLabel(edge) },
    });
  }
  let nodesChanged = false;
  cy.batch(() => {
    cy.elements().forEach((element) => {
      if (!wanted.has(element.id())) {
        nodesChanged ||= element.isNode();
        element.remove();
      }
    });
    for (const [id, element] of wanted) {
      const existing = cy.getElementById(id);
      if (existing.nonempty()) {
        existing.data(element.data);
      } else {
        cy.add(element);
        nodesChanged ||= element.group === 'nodes';
      }
    }
  });
  return nodesChanged;
}

function layout() {
  cy.layout({ name: 'breadthfirst', directed: true, spacingFactor: 1.15, padding: 40, animate: false }).run();
}

function applyFilter() {
  cy.elements().removeClass('hidden');
  const focus = state.filter ? cy.getElementById(nodeId(state.filter)) : null;
  if (focus && focus.nonempty()) cy.elements().not(focus.closedNeighborhood()).addClass('hidden');
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function table(rows) {
  const body = element('table');
  for (const cells of rows) {
    const row = body.insertRow();
    for (const cell of cells) {
      const td = row.insertCell();
      if (cell instanceof Node) td.append(cell);
      else td.textContent = cell;
    }
  }
  return body;
}

function flowRows(name) {
  const rows = [];
  for (const edge of state.graph.edges) {
    if (edge.source !== name && edge.target !== name) continue;
    const peer = edge.source === name ? `→ ${edge.target}` : `← ${edge.source}`;
    const count = edge.count > 1 ? ` ×${edge.count}` : '';
    rows.push([peer, edge.label, element('span', `${edge.state}${count}`, `state-${edge.state}`)]);
  }
  return rows;
}

// Workloads and audit records come from /api/v1/identity; flows from the graph already held.
async function showDetails(name) {
  const panel = document.getElementById('details');
  const node = state.graph.nodes.find((n) => n.id === name);
  if (!node) {
    panel.replaceChildren(element('p', `${name} is no longer on the graph.`, 'hint'));
    return;
  }
  let detail = { workloads: [], audit: [] };
  try {
    const response = await fetch(`/api/v1/identity?name=${encodeURIComponent(name)}`, { cache: 'no-store' });
    if (response.ok) detail = await response.json();
  } catch (error) {
    detail.error = String(error);
  }
  if (state.selected !== name) return; // another node was clicked meanwhile

  const parts = [element('h2', name)];
  const badge = element('span', node.mode ?? node.kind, `badge ${node.mode ?? 'none'}`);
  const summary = element('p');
  summary.append(badge, modeText(node));
  parts.push(summary);

  const flows = flowRows(name);
  parts.push(element('h3', `Flows (${flows.length})`));
  parts.push(flows.length ? table(flows) : element('p', 'none', 'hint'));

  parts.push(element('h3', `Workloads (${detail.workloads.length})`));
  parts.push(
    detail.workloads.length
      ? table(detail.workloads.map((w) => [w.name, w.addresses.join('\n'), w.source]))
      : element('p', node.kind === 'workload' ? 'none running on this node' : 'not a workload', 'hint'),
  );

  parts.push(element('h3', `Recent audit records (${detail.audit.length})`));
  parts.push(
    detail.audit.length
      ? table(
          detail.audit.map((r) => [
            new Date(r.time).toLocaleTimeString([], { hour12: false }),
            element('span', r.action, `state-${r.action === 'block' ? 'blocked' : 'alerted'}`),
            `${r.src} → ${r.dst}`,
            `${r.port}/${r.protocol}`,
          ]),
        )
      : element('p', 'none', 'hint'),
  );
  if (detail.error) parts.push(element('p', `could not load details: ${detail.error}`, 'hint'));
  document.getElementById('details').replaceChildren(...parts);
}

function showSummary(graph) {
  const count = (s) => graph.edges.filter((e) => e.state === s).length;
  document.getElementById('summary').textContent =
    `${graph.nodes.length} identities · ${count('learned')} learned · ${count('alerted')} alerted · ${count('blocked')} blocked`;
  const names = document.getElementById('identity-names');
  names.replaceChildren(...graph.nodes.map((n) => Object.assign(document.createElement('option'), { value: n.id })));
}

function showLive(ok, why) {
  const live = document.getElementById('live');
  live.className = ok ? 'live' : 'down';
  live.textContent = ok ? 'live' : 'daemon unreachable, retrying';
  live.title = ok ? `updated ${new Date().toLocaleTimeString()}` : why;
}

async function poll() {
  try {
    const response = await fetch('/api/v1/graph', { cache: 'no-store' });
    if (!response.ok) throw new Error(`GET /api/v1/graph: HTTP ${response.status}`);
    const graph = await response.json();
    state.graph = graph;
    if (applyGraph(graph)) layout();
    applyFilter();
    showSummary(graph);
    if (state.selected) await showDetails(state.selected);
    state.updates += 1;
    state.error = null;
    showLive(true);
  } catch (error) {
    state.error = String(error);
    showLive(false, state.error);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

function select(name) {
  state.selected = name;
  cy.elements().unselect();
  if (name) cy.getElementById(nodeId(name)).select();
  if (name) showDetails(name);
}
window.radar.select = select;

cy.on('tap', 'node', (event) => select(event.target.data('name')));

const filterInput = document.getElementById('filter-input');
filterInput.addEventListener('input', () => {
  state.filter = filterInput.value.trim();
  applyFilter();
  if (cy.getElementById(nodeId(state.filter)).nonempty()) select(state.filter);
});
document.getElementById('filter-clear').addEventListener('click', () => {
  filterInput.value = '';
  state.filter = '';
  applyFilter();
});
document.getElementById('filter').addEventListener('submit', (event) => event.preventDefault());

poll();
