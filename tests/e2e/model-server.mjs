#!/usr/bin/env node
// Scripted model server for the end-to-end tests.
//
// Speaks just enough of three model APIs for the real agent CLIs to run a turn offline:
//   Anthropic Messages       POST /v1/messages (SSE or JSON), POST /v1/messages/count_tokens
//                            -> Claude Code
//   OpenAI Responses         POST /v1/responses (SSE or JSON)              -> Codex
//   OpenAI chat completions  POST /v1/chat/completions (SSE or JSON)       -> OpenCode
//   plus HEAD/GET / (200) and GET /v1/models.
//
// Usage:
//   node model-server.mjs --port 0 --scenarios DIR [--record DIR] [--default-scenario NAME]
//                         [--host 127.0.0.1] [--verbose]
// Prints exactly one line on stdout when ready: "listening http://127.0.0.1:PORT".
// SIGTERM/SIGINT close the listener and exit 0.
//
// Scenarios: DIR/*.json, each {"name": "...", "steps": [step, ...]}. A step is one model reply,
// either a list of parts or {"parts": [...], "usage": {"input": n, "output": n}}. Parts:
//   {"text": "..."}              assistant text, streamed in a few deltas (or ["a","b"] to give the
//                                deltas explicitly)
//   {"thinking": "..."}          reasoning / thinking text
//   {"tool": "NAME", "input": {...}}   a tool call, named as Claude Code names it (Write, Bash,
//                                Read, Edit, mcp__<server>__<tool>); translated below for the
//                                other CLIs. Add "raw": true to send NAME/input untranslated.
//   {"sleep_ms": N}              pause mid-stream (a cancel test can kill the client meanwhile)
//   {"error": {"status": 400, "message": "..."}}   reply with an HTTP error instead (only as
//                                the first part; note that the CLIs retry 429 and 5xx)
//
// Selection is stateless, so resumed sessions and restarted servers work:
//   1. Requests that declare no tools are side requests (titles, summaries, probes): they get a
//      short plain text reply and never consume a step.
//   2. Otherwise the server finds the LAST user message containing "[scenario:NAME]" and counts
//      the assistant replies after it (a run of consecutive assistant items/messages, separated
//      by tool results or user messages, is one reply). That count is the step index. Past the
//      last step the reply is a short final text ("Done.").
//   3. A tool-bearing request with no marker uses --default-scenario if given (counting from
//      the last user message that carries text), else the short plain text reply.
//
// Tool translation (scenario name -> what each CLI exposes; the request's "tools" list decides):
//   Claude Code (Anthropic):  names pass through unchanged (Bash, Write, mcp__second__present_plan);
//                             MCP tools are offered as "mcp__<server>__<tool>".
//   Codex (Responses):        Bash {command}  -> function_call "exec_command" {cmd} (gpt-5.x offers
//                                                unified exec), else "shell_command" {command},
//                                                else "shell" {command: ["bash", "-lc", cmd]}
//                             Write {file_path, content} -> custom_tool_call "apply_patch" with an
//                                                "*** Add File" patch (function_call {input} if
//                                                apply_patch is a function tool); models without
//                                                apply_patch (unknown slugs) get a shell heredoc
//                             mcp__S__T          -> function_call {name: "T", namespace: "mcp__S"}
//                                                (Codex offers MCP tools as a "namespace" tool). When
//                                                the tools are deferred behind "tool_search" (gpt-5.x),
//                                                the step is first answered with a tool_search_call
//                                                alone; Codex replies with a tool_search_output listing
//                                                the namespace and the next request replays the step.
//                                                tool_search items never count as replies.
//   OpenCode (chat):          Bash {command}     -> "bash" {command, description}
//                             Write {file_path, content} -> "write" {filePath, content}
//                             Read/Edit          -> "read" {filePath} / "edit" {filePath, oldString, newString}
//                             mcp__S__T          -> "S_T" (OpenCode's naming)
//   Any other name: exact, then case-insensitive, then a tool whose name ends with the last
//   "__" segment, else unchanged.
//
// --record DIR writes each request as DIR/NNNN-<method>-<path>.json:
//   {"method", "path", "headers" (authorization, x-api-key, api-key and cookie removed), "body",
//    "selection"} where selection tells which scenario/step (or "side") answered it.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';

// ---------------------------------------------------------------- options

function parseArgs(argv) {
  const opts = { port: 0, host: '127.0.0.1', scenarios: null, record: null, defaultScenario: null, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) die(`missing value for ${a}`);
      return argv[++i];
    };
    if (a === '--port') opts.port = Number(next());
    else if (a === '--host') opts.host = next();
    else if (a === '--scenarios') opts.scenarios = next();
    else if (a === '--record') opts.record = next();
    else if (a === '--default-scenario') opts.defaultScenario = next();
    else if (a === '--verbose') opts.verbose = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: model-server.mjs --port N --scenarios DIR [--record DIR] [--default-scenario NAME] [--host H] [--verbose]\n');
      process.exit(0);
    } else die(`unknown argument ${a}`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) die('bad --port');
  if (!opts.scenarios) die('--scenarios DIR is required');
  return opts;
}

function die(msg) {
  process.stderr.write(`model-server: ${msg}\n`);
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const log = (...a) => { if (opts.verbose) process.stderr.write(`model-server: ${a.join(' ')}\n`); };

// ---------------------------------------------------------------- scenarios

const MARKER = /\[scenario:([A-Za-z0-9_.-]+)\]/g;
const FINAL_TEXT = 'Done.';
const SIDE_TEXT = 'Scripted reply';

function loadScenario(name) {
  // Read on every request: tests may add scenarios while the server runs.
  let files;
  try { files = fs.readdirSync(opts.scenarios).filter((f) => f.endsWith('.json')); } catch { return null; }
  const direct = files.find((f) => f === `${name}.json`);
  const order = direct ? [direct, ...files.filter((f) => f !== direct)] : files;
  for (const f of order) {
    try {
      const sc = JSON.parse(fs.readFileSync(path.join(opts.scenarios, f), 'utf8'));
      if (sc && sc.name === name && Array.isArray(sc.steps)) return sc;
    } catch (e) {
      log(`bad scenario file ${f}: ${e.message}`);
    }
  }
  return null;
}

function normStep(step) {
  if (Array.isArray(step)) return { parts: step, usage: null };
  if (step && typeof step === 'object') return { parts: Array.isArray(step.parts) ? step.parts : [], usage: step.usage || null };
  return { parts: [], usage: null };
}

// A conversation reduced to a list of {kind: 'U'|'A'|'T'|'X', text} entries.
//   U user text, A assistant-side item, T tool result, X other (system/developer).
function flattenAnthropic(body) {
  const out = [];
  for (const m of body.messages || []) {
    if (m.role === 'assistant') { out.push({ kind: 'A' }); continue; }
    if (m.role !== 'user') { out.push({ kind: 'X' }); continue; }
    if (typeof m.content === 'string') { out.push({ kind: 'U', text: m.content }); continue; }
    const blocks = Array.isArray(m.content) ? m.content : [];
    const texts = blocks.filter((b) => b && b.type === 'text').map((b) => b.text || '');
    const hasResult = blocks.some((b) => b && b.type === 'tool_result');
    // Claude Code puts tool results in user messages; those are results, not prompts, unless
    // a marker rides along.
    if (hasResult && !texts.some((t) => lastMarker(t))) out.push({ kind: 'T', text: texts.join('\n') });
    else out.push({ kind: 'U', text: texts.join('\n') });
  }
  return out;
}

function contentText(c) {
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return '';
  return c.map((p) => (p && typeof p.text === 'string' ? p.text : '')).join('\n');
}

function flattenResponses(body) {
  const out = [];
  const input = typeof body.input === 'string' ? [{ type: 'message', role: 'user', content: body.input }] : body.input || [];
  for (const it of input) {
    const type = it.type || (it.role ? 'message' : '');
    if (type === 'message') {
      if (it.role === 'user') out.push({ kind: 'U', text: contentText(it.content) });
      else if (it.role === 'assistant') out.push({ kind: 'A' });
      else out.push({ kind: 'X' });
    } else if (/^tool_search_(call|output)$/.test(type)) out.push({ kind: 'X' }); // see toCodexTool
    else if (/_output$/.test(type)) out.push({ kind: 'T' });
    else if (/call$|^reasoning$/.test(type)) out.push({ kind: 'A' });
    else out.push({ kind: 'X' });
  }
  return out;
}

function flattenChat(body) {
  const out = [];
  for (const m of body.messages || []) {
    if (m.role === 'user') out.push({ kind: 'U', text: contentText(m.content) });
    else if (m.role === 'assistant') out.push({ kind: 'A' });
    else if (m.role === 'tool' || m.role === 'function') out.push({ kind: 'T' });
    else out.push({ kind: 'X' });
  }
  return out;
}

function lastMarker(text) {
  let name = null;
  for (const m of (text || '').matchAll(MARKER)) name = m[1];
  return name;
}

function repliesAfter(conv, index) {
  let n = 0;
  let inRun = false;
  for (let i = index + 1; i < conv.length; i++) {
    const k = conv[i].kind;
    if (k === 'A') { if (!inRun) n++; inRun = true; } else if (k === 'U' || k === 'T') inRun = false;
  }
  return n;
}

// A scenario may have "phases": [{"match": "regex", "steps": [...]}, ...]. The first phase whose
// regex (case-insensitive) matches the user message the steps count from supplies the steps;
// otherwise the scenario's own "steps" do. So one scenario can present a plan first and build
// once the user's next message approves it.
function phaseSteps(sc, text) {
  for (const ph of Array.isArray(sc.phases) ? sc.phases : []) {
    try {
      if (ph && Array.isArray(ph.steps) && new RegExp(ph.match, 'i').test(text)) return ph.steps;
    } catch (e) {
      log(`bad phase regex in ${sc.name}: ${e.message}`);
    }
  }
  return sc.steps;
}

// -> {kind: 'side'} | {kind: 'step', scenario, index, step} | {kind: 'final', scenario, index}
function select(conv, hasTools) {
  if (!hasTools) return { kind: 'side' };
  let at = -1;
  let name = null;
  for (let i = conv.length - 1; i >= 0; i--) {
    if (conv[i].kind === 'U') {
      const n = lastMarker(conv[i].text);
      if (n) { at = i; name = n; break; }
    }
  }
  if (at < 0) {
    if (!opts.defaultScenario) return { kind: 'side' };
    name = opts.defaultScenario;
    for (let i = conv.length - 1; i >= 0; i--) {
      if (conv[i].kind === 'U' && (conv[i].text || '').trim()) { at = i; break; }
    }
  }
  const sc = loadScenario(name);
  const index = repliesAfter(conv, at);
  if (!sc) return { kind: 'missing', scenario: name, index };
  const steps = phaseSteps(sc, at >= 0 ? conv[at].text || '' : '');
  if (index >= steps.length) return { kind: 'final', scenario: name, index };
  return { kind: 'step', scenario: name, index, step: normStep(steps[index]) };
}

function stepFor(sel) {
  if (sel.kind === 'step') return sel.step;
  if (sel.kind === 'missing') return { parts: [{ text: `Unknown scenario ${sel.scenario}.` }], usage: null };
  if (sel.kind === 'final') return { parts: [{ text: FINAL_TEXT }], usage: null };
  return { parts: [{ text: SIDE_TEXT }], usage: null };
}

function usageOf(step) {
  const u = step.usage || {};
  return { input: Number.isInteger(u.input) ? u.input : 10, output: Number.isInteger(u.output) ? u.output : 5 };
}

function splitText(t) {
  if (Array.isArray(t)) return t.map(String);
  const s = String(t ?? '');
  if (s.length <= 12) return [s];
  const words = s.match(/\S+\s*|\s+/g) || [s];
  const chunks = [];
  let cur = '';
  for (const w of words) {
    cur += w;
    if (cur.length >= 16) { chunks.push(cur); cur = ''; }
  }
  if (cur) chunks.push(cur);
  return chunks;
}

const joinText = (t) => (Array.isArray(t) ? t.join('') : String(t ?? ''));
const rid = (prefix) => `${prefix}${crypto.randomBytes(12).toString('hex')}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- tool translation

function toolNames(body) {
  return (body.tools || []).map((t) => t.name || (t.function && t.function.name) || t.type).filter(Boolean);
}

function findTool(names, wanted) {
  for (const w of wanted) if (names.includes(w)) return w;
  for (const w of wanted) {
    const hit = names.find((n) => n.toLowerCase() === w.toLowerCase());
    if (hit) return hit;
  }
  return null;
}

function mcpParts(name) {
  const m = /^mcp__(.+?)__(.+)$/.exec(name);
  return m ? { server: m[1], tool: m[2] } : null;
}

function fallbackName(names, name) {
  const exact = findTool(names, [name]);
  if (exact) return exact;
  const tail = name.split('__').pop();
  return names.find((n) => n.endsWith(tail)) || name;
}

function addFilePatch(file, content) {
  const lines = String(content).replace(/\n$/, '').split('\n');
  return `*** Begin Patch\n*** Add File: ${file}\n${lines.map((l) => `+${l}`).join('\n')}\n*** End Patch\n`;
}

// Codex offers MCP tools as "namespace" tools ({type: "namespace", name: "mcp__second", tools:
// [{type: "function", name: "present_plan"}]}), called back as a function_call with
// name "present_plan" and namespace "mcp__second". For models that support tool search (gpt-5.x)
// the MCP tools are deferred: the request only offers {type: "tool_search"}, the model must emit a
// tool_search_call, and Codex answers with a tool_search_output item listing the namespace.
function codexNamespaces(body) {
  const ns = new Map();
  const add = (list) => {
    for (const t of list || []) {
      if (t && t.type === 'namespace' && Array.isArray(t.tools)) {
        const set = ns.get(t.name) || new Set();
        for (const f of t.tools) if (f && f.name) set.add(f.name);
        ns.set(t.name, set);
      }
    }
  };
  add(body.tools);
  for (const it of Array.isArray(body.input) ? body.input : []) if (it && it.type === 'tool_search_output') add(it.tools);
  return ns;
}

// Codex (Responses API). Returns {type: 'function_call'|'custom_tool_call'|'tool_search_call', ...}.
function toCodexTool(part, body) {
  const names = toolNames(body);
  const input = part.input || {};
  if (part.raw) return { type: 'function_call', name: part.tool, args: input };
  const mcp = mcpParts(part.tool);
  if (mcp) {
    const ns = codexNamespaces(body).get(`mcp__${mcp.server}`);
    if (ns && ns.has(mcp.tool)) return { type: 'function_call', name: mcp.tool, namespace: `mcp__${mcp.server}`, args: input };
    const flat = findTool(names, [part.tool, `${mcp.server}__${mcp.tool}`]);
    if (flat) return { type: 'function_call', name: flat, args: input };
    const searched = (Array.isArray(body.input) ? body.input : []).some((it) => it && it.type === 'tool_search_output');
    if ((body.tools || []).some((t) => t && t.type === 'tool_search') && !searched) {
      return { type: 'tool_search_call', args: { query: `${mcp.server} ${mcp.tool}`, limit: 8 } };
    }
    return { type: 'function_call', name: part.tool, args: input };
  }
  const shell = (cmd) => {
    const n = findTool(names, ['exec_command', 'shell_command', 'shell']) || 'exec_command';
    if (n === 'exec_command') return { type: 'function_call', name: n, args: { cmd } };
    if (n === 'shell') return { type: 'function_call', name: n, args: { command: ['bash', '-lc', cmd] } };
    return { type: 'function_call', name: n, args: { command: cmd } };
  };
  switch (part.tool) {
    case 'Bash': return shell(input.command);
    case 'Write': {
      const ap = (body.tools || []).find((t) => (t.name || (t.function && t.function.name)) === 'apply_patch');
      const patch = addFilePatch(input.file_path, input.content ?? '');
      if (ap && ap.type === 'custom') return { type: 'custom_tool_call', name: 'apply_patch', input: patch };
      if (ap) return { type: 'function_call', name: 'apply_patch', args: { input: patch } };
      const q = `'${String(input.file_path).replace(/'/g, `'\\''`)}'`;
      return shell(`cat > ${q} <<'SCRIPTED_EOF'\n${String(input.content ?? '').replace(/\n$/, '')}\nSCRIPTED_EOF`);
    }
    default: return { type: 'function_call', name: fallbackName(names, part.tool), args: input };
  }
}

// OpenCode (chat completions). Returns {name, args}.
function toChatTool(part, body) {
  const names = toolNames(body);
  const input = part.input || {};
  if (part.raw) return { name: part.tool, args: input };
  const mcp = mcpParts(part.tool);
  if (mcp) {
    const n = findTool(names, [`${mcp.server}_${mcp.tool}`, part.tool, `${mcp.server}__${mcp.tool}`]) || fallbackName(names, part.tool);
    return { name: n, args: input };
  }
  switch (part.tool) {
    case 'Bash': return { name: findTool(names, ['bash']) || 'bash', args: { command: input.command, description: input.description || 'Run a command' } };
    case 'Write': return { name: findTool(names, ['write']) || 'write', args: { filePath: input.file_path, content: input.content ?? '' } };
    case 'Read': return { name: findTool(names, ['read']) || 'read', args: { filePath: input.file_path } };
    case 'Edit': return {
      name: findTool(names, ['edit']) || 'edit',
      args: { filePath: input.file_path, oldString: input.old_string, newString: input.new_string },
    };
    default: return { name: fallbackName(names, part.tool), args: input };
  }
}

// ---------------------------------------------------------------- HTTP plumbing

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('error', reject);
    req.on('end', () => {
      let buf = Buffer.concat(chunks);
      const enc = (req.headers['content-encoding'] || '').toLowerCase();
      try {
        if (enc === 'gzip') buf = zlib.gunzipSync(buf);
        else if (enc === 'deflate') buf = zlib.inflateSync(buf);
        else if (enc === 'br') buf = zlib.brotliDecompressSync(buf);
        else if (enc === 'zstd' && zlib.zstdDecompressSync) buf = zlib.zstdDecompressSync(buf);
      } catch (e) {
        reject(e);
        return;
      }
      resolve(buf.toString('utf8'));
    });
  });
}

let recordSeq = 0;
function record(req, url, body, sel) {
  if (!opts.record) return;
  const n = String(++recordSeq).padStart(4, '0');
  const headers = { ...req.headers };
  for (const h of ['authorization', 'x-api-key', 'api-key', 'cookie']) delete headers[h];
  const slug = url.pathname.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'root';
  const selection = sel ? { kind: sel.kind, scenario: sel.scenario ?? null, step: sel.index ?? null } : null;
  fs.mkdirSync(opts.record, { recursive: true });
  fs.writeFileSync(path.join(opts.record, `${n}-${req.method}-${slug}.json`),
    JSON.stringify({ method: req.method, path: url.pathname + url.search, headers, body, selection }, null, 2) + '\n');
}

function sendJson(res, status, obj) {
  const s = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s) });
  res.end(s);
}

function startSse(res) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
}

function errorFor(step) {
  const p = step.parts[0];
  return p && p.error ? { status: p.error.status || 400, message: p.error.message || 'scripted error', type: p.error.type } : null;
}

// Walk the parts, calling emit per part; sleeps happen between. Stops if the client went away.
async function walk(step, res, emit) {
  for (const part of step.parts) {
    if (res.destroyed || res.writableEnded) return false;
    if (part.sleep_ms) { await sleep(part.sleep_ms); continue; }
    await emit(part);
  }
  return !(res.destroyed || res.writableEnded);
}

// ---------------------------------------------------------------- Anthropic Messages

async function anthropicMessages(req, res, body, sel) {
  const step = stepFor(sel);
  const usage = usageOf(step);
  const model = body.model || 'scripted';
  const err = errorFor(step);
  if (err) {
    sendJson(res, err.status, { type: 'error', error: { type: err.type || 'invalid_request_error', message: err.message } });
    return;
  }
  const msgId = rid('msg_');
  const blocks = [];
  const hasTool = step.parts.some((p) => p.tool);
  const stopReason = hasTool ? 'tool_use' : 'end_turn';
  const usageObj = (out) => ({ input_tokens: usage.input, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: out });

  if (!body.stream) {
    await walk(step, res, (p) => {
      if (p.text !== undefined) blocks.push({ type: 'text', text: joinText(p.text) });
      else if (p.thinking !== undefined) blocks.push({ type: 'thinking', thinking: joinText(p.thinking), signature: 'scripted' });
      else if (p.tool) blocks.push({ type: 'tool_use', id: rid('toolu_'), name: p.tool, input: p.input || {} });
    });
    if (res.destroyed) return;
    sendJson(res, 200, { id: msgId, type: 'message', role: 'assistant', model, content: blocks, stop_reason: stopReason, stop_sequence: null, usage: usageObj(usage.output) });
    return;
  }

  startSse(res);
  const ev = (name, data) => { if (!res.destroyed) res.write(`event: ${name}\ndata: ${JSON.stringify({ type: name, ...data })}\n\n`); };
  ev('message_start', { message: { id: msgId, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: usageObj(1) } });
  let index = 0;
  const ok = await walk(step, res, async (p) => {
    if (p.text !== undefined) {
      ev('content_block_start', { index, content_block: { type: 'text', text: '' } });
      for (const c of splitText(p.text)) ev('content_block_delta', { index, delta: { type: 'text_delta', text: c } });
      ev('content_block_stop', { index });
      index++;
    } else if (p.thinking !== undefined) {
      ev('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } });
      for (const c of splitText(p.thinking)) ev('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: c } });
      ev('content_block_delta', { index, delta: { type: 'signature_delta', signature: 'scripted' } });
      ev('content_block_stop', { index });
      index++;
    } else if (p.tool) {
      const json = JSON.stringify(p.input || {});
      ev('content_block_start', { index, content_block: { type: 'tool_use', id: rid('toolu_'), name: p.tool, input: {} } });
      const mid = Math.ceil(json.length / 2);
      for (const c of [json.slice(0, mid), json.slice(mid)]) if (c) ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: c } });
      ev('content_block_stop', { index });
      index++;
    }
  });
  if (!ok) return;
  ev('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: usageObj(usage.output) });
  ev('message_stop', {});
  res.end();
}

// ---------------------------------------------------------------- OpenAI Responses

async function openaiResponses(req, res, body, sel) {
  const step = stepFor(sel);
  const usage = usageOf(step);
  const model = body.model || 'scripted';
  const err = errorFor(step);
  if (err) {
    sendJson(res, err.status, { error: { message: err.message, type: err.type || 'invalid_request_error', code: null } });
    return;
  }
  const respId = rid('resp_');
  const created = Math.floor(Date.now() / 1000);
  const usageObj = {
    input_tokens: usage.input, input_tokens_details: { cached_tokens: 0 },
    output_tokens: usage.output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: usage.input + usage.output,
  };
  const base = { id: respId, object: 'response', created_at: created, model };
  const output = [];
  let seq = 0;
  const stream = body.stream !== false && body.stream !== undefined ? true : false;
  if (stream) startSse(res);
  const ev = (name, data) => {
    if (stream && !res.destroyed) res.write(`event: ${name}\ndata: ${JSON.stringify({ type: name, sequence_number: seq++, ...data })}\n\n`);
  };
  ev('response.created', { response: { ...base, status: 'in_progress', output: [] } });
  ev('response.in_progress', { response: { ...base, status: 'in_progress', output: [] } });
  // A step whose MCP tool is still deferred is answered with a tool_search_call alone; the
  // next request (after Codex's tool_search_output) gets the same step again, tool now callable.
  const search = step.parts.filter((p) => p.tool).map((p) => toCodexTool(p, body)).find((t) => t.type === 'tool_search_call');
  const parts = search ? [{ search }] : step.parts;
  const ok = await walk({ parts }, res, async (p) => {
    const output_index = output.length;
    if (p.search) {
      const item = { id: rid('tsc_'), type: 'tool_search_call', call_id: rid('call_'), status: 'completed', execution: 'client', arguments: p.search.args };
      ev('response.output_item.added', { output_index, item: { ...item, status: 'in_progress' } });
      ev('response.output_item.done', { output_index, item });
      output.push(item);
    } else if (p.text !== undefined) {
      const id = rid('msg_');
      const text = joinText(p.text);
      ev('response.output_item.added', { output_index, item: { id, type: 'message', role: 'assistant', status: 'in_progress', content: [] } });
      ev('response.content_part.added', { item_id: id, output_index, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
      for (const c of splitText(p.text)) ev('response.output_text.delta', { item_id: id, output_index, content_index: 0, delta: c });
      ev('response.output_text.done', { item_id: id, output_index, content_index: 0, text });
      ev('response.content_part.done', { item_id: id, output_index, content_index: 0, part: { type: 'output_text', text, annotations: [] } });
      const item = { id, type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] };
      ev('response.output_item.done', { output_index, item });
      output.push(item);
    } else if (p.thinking !== undefined) {
      const id = rid('rs_');
      const text = joinText(p.thinking);
      ev('response.output_item.added', { output_index, item: { id, type: 'reasoning', summary: [] } });
      ev('response.reasoning_summary_part.added', { item_id: id, output_index, summary_index: 0, part: { type: 'summary_text', text: '' } });
      for (const c of splitText(p.thinking)) ev('response.reasoning_summary_text.delta', { item_id: id, output_index, summary_index: 0, delta: c });
      ev('response.reasoning_summary_text.done', { item_id: id, output_index, summary_index: 0, text });
      ev('response.reasoning_summary_part.done', { item_id: id, output_index, summary_index: 0, part: { type: 'summary_text', text } });
      const item = { id, type: 'reasoning', summary: [{ type: 'summary_text', text }] };
      ev('response.output_item.done', { output_index, item });
      output.push(item);
    } else if (p.tool) {
      const t = toCodexTool(p, body);
      const callId = rid('call_');
      if (t.type === 'custom_tool_call') {
        const id = rid('ctc_');
        ev('response.output_item.added', { output_index, item: { id, type: 'custom_tool_call', status: 'in_progress', call_id: callId, name: t.name, input: '' } });
        ev('response.custom_tool_call_input.delta', { item_id: id, output_index, delta: t.input });
        ev('response.custom_tool_call_input.done', { item_id: id, output_index, input: t.input });
        const item = { id, type: 'custom_tool_call', status: 'completed', call_id: callId, name: t.name, input: t.input };
        ev('response.output_item.done', { output_index, item });
        output.push(item);
      } else {
        const id = rid('fc_');
        const args = JSON.stringify(t.args);
        const ns = t.namespace ? { namespace: t.namespace } : {};
        ev('response.output_item.added', { output_index, item: { id, type: 'function_call', status: 'in_progress', call_id: callId, name: t.name, ...ns, arguments: '' } });
        ev('response.function_call_arguments.delta', { item_id: id, output_index, delta: args });
        ev('response.function_call_arguments.done', { item_id: id, output_index, arguments: args });
        const item = { id, type: 'function_call', status: 'completed', call_id: callId, name: t.name, ...ns, arguments: args };
        ev('response.output_item.done', { output_index, item });
        output.push(item);
      }
    }
  });
  if (!ok) return;
  const final = { ...base, status: 'completed', output, usage: usageObj };
  if (!stream) { sendJson(res, 200, final); return; }
  ev('response.completed', { response: final });
  res.end();
}

// ---------------------------------------------------------------- OpenAI chat completions

async function openaiChat(req, res, body, sel) {
  const step = stepFor(sel);
  const usage = usageOf(step);
  const model = body.model || 'scripted';
  const err = errorFor(step);
  if (err) {
    sendJson(res, err.status, { error: { message: err.message, type: err.type || 'invalid_request_error', code: null } });
    return;
  }
  const id = rid('chatcmpl-');
  const created = Math.floor(Date.now() / 1000);
  const usageObj = { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output };
  const hasTool = step.parts.some((p) => p.tool);
  const finish = hasTool ? 'tool_calls' : 'stop';

  if (!body.stream) {
    let text = '';
    let reasoning = '';
    const calls = [];
    await walk(step, res, (p) => {
      if (p.text !== undefined) text += joinText(p.text);
      else if (p.thinking !== undefined) reasoning += joinText(p.thinking);
      else if (p.tool) {
        const t = toChatTool(p, body);
        calls.push({ id: rid('call_'), type: 'function', function: { name: t.name, arguments: JSON.stringify(t.args) } });
      }
    });
    if (res.destroyed) return;
    const message = { role: 'assistant', content: text || null };
    if (reasoning) message.reasoning_content = reasoning;
    if (calls.length) message.tool_calls = calls;
    sendJson(res, 200, { id, object: 'chat.completion', created, model, choices: [{ index: 0, message, finish_reason: finish }], usage: usageObj });
    return;
  }

  startSse(res);
  const chunk = (delta, finishReason = null, extra = {}) => {
    if (res.destroyed) return;
    res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finishReason }], ...extra })}\n\n`);
  };
  chunk({ role: 'assistant', content: '' });
  let toolIndex = 0;
  const ok = await walk(step, res, async (p) => {
    if (p.text !== undefined) for (const c of splitText(p.text)) chunk({ content: c });
    else if (p.thinking !== undefined) for (const c of splitText(p.thinking)) chunk({ reasoning_content: c });
    else if (p.tool) {
      const t = toChatTool(p, body);
      const args = JSON.stringify(t.args);
      const index = toolIndex++;
      chunk({ tool_calls: [{ index, id: rid('call_'), type: 'function', function: { name: t.name, arguments: '' } }] });
      const mid = Math.ceil(args.length / 2);
      for (const c of [args.slice(0, mid), args.slice(mid)]) if (c) chunk({ tool_calls: [{ index, function: { arguments: c } }] });
    }
  });
  if (!ok) return;
  chunk({}, finish);
  if (!res.destroyed) {
    res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: usageObj })}\n\n`);
    res.write('data: [DONE]\n\n');
  }
  res.end();
}

// ---------------------------------------------------------------- router

function models(res) {
  const now = Math.floor(Date.now() / 1000);
  const ids = ['scripted', 'm1'];
  // One list that both OpenAI ("object") and Anthropic ("type") clients accept.
  sendJson(res, 200, {
    object: 'list',
    data: ids.map((id) => ({ id, object: 'model', type: 'model', display_name: id, created: now, created_at: new Date(now * 1000).toISOString(), owned_by: 'second-e2e' })),
    has_more: false, first_id: ids[0], last_id: ids[ids.length - 1],
  });
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const p = url.pathname.replace(/\/+$/, '') || '/';
  req.socket.setNoDelay(true);
  let raw = '';
  try { raw = await readBody(req); } catch (e) {
    sendJson(res, 400, { error: { message: `cannot read body: ${e.message}` } });
    return;
  }
  let body = null;
  if (raw) {
    try { body = JSON.parse(raw); } catch {
      record(req, url, raw, null);
      sendJson(res, 400, { error: { message: 'body is not JSON', type: 'invalid_request_error' } });
      return;
    }
  }
  log(req.method, url.pathname + url.search);

  if (p === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
    record(req, url, body, null);
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 });
    res.end(req.method === 'HEAD' ? undefined : 'ok\n');
    return;
  }
  if (req.method === 'GET' && (p === '/v1/models' || p === '/models')) { record(req, url, body, null); models(res); return; }
  if (req.method === 'POST' && p === '/v1/messages/count_tokens') {
    record(req, url, body, null);
    sendJson(res, 200, { input_tokens: Math.max(1, Math.ceil(raw.length / 4)) });
    return;
  }

  let sel;
  let fn;
  if (req.method === 'POST' && p === '/v1/messages') { fn = anthropicMessages; sel = select(flattenAnthropic(body || {}), (body?.tools || []).length > 0); }
  else if (req.method === 'POST' && (p === '/v1/responses' || p === '/responses')) { fn = openaiResponses; sel = select(flattenResponses(body || {}), (body?.tools || []).length > 0); }
  else if (req.method === 'POST' && (p === '/v1/chat/completions' || p === '/chat/completions')) { fn = openaiChat; sel = select(flattenChat(body || {}), (body?.tools || []).length > 0); }
  else {
    record(req, url, body, null);
    sendJson(res, 404, { error: { message: `no route for ${req.method} ${url.pathname}`, type: 'not_found_error' } });
    return;
  }
  record(req, url, body, sel);
  log(`  -> ${sel.kind}${sel.scenario ? ` ${sel.scenario}#${sel.index}` : ''}`);
  await fn(req, res, body || {}, sel);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    process.stderr.write(`model-server: ${e.stack || e}\n`);
    if (!res.headersSent) sendJson(res, 500, { error: { message: 'model server failure' } });
    else res.destroy();
  });
});
server.keepAliveTimeout = 5000;

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

server.listen(opts.port, opts.host, () => {
  const { port } = server.address();
  process.stdout.write(`listening http://${opts.host}:${port}\n`);
});
