// Enough Markdown for agent replies: headings, paragraphs, lists, quotes, rules, fenced code,
// simple tables, and inline code, bold, italics and links. It builds React elements (never
// HTML strings), so nothing the agent writes can inject markup.
import { Fragment, type ReactNode } from "react";

// One source, a fresh RegExp per call: inline() recurses, and a shared global RegExp would
// have its lastIndex moved under the outer loop.
const INLINE_SOURCE =
  /(`+)([\s\S]*?[^`])\1(?!`)|\*\*([^*]+?)\*\*|__([^_]+?)__|\*([^*\s](?:[^*]*[^*\s])?)\*|(?<![\w])_([^_\s](?:[^_]*[^_\s])?)_(?![\w])|\[([^\]]+)\]\(([^)\s]+)\)/;

function safeHref(url: string): string | null {
  try {
    const u = new URL(url, window.location.href);
    return u.protocol === "http:" || u.protocol === "https:" || u.protocol === "mailto:" ? u.href : null;
  } catch {
    return null;
  }
}

export function inline(text: string, keyBase = "i"): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  let n = 0;
  const re = new RegExp(INLINE_SOURCE.source, "g");
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    const key = `${keyBase}-${n++}`;
    if (m[2] !== undefined) {
      out.push(
        <code key={key} className="rounded bg-zinc-100 px-1 py-0.5 font-mono text-[0.85em] text-zinc-800">
          {m[2].trim()}
        </code>,
      );
    } else if (m[3] !== undefined || m[4] !== undefined) {
      out.push(<strong key={key} className="font-semibold text-zinc-900">{inline(m[3] ?? m[4], key)}</strong>);
    } else if (m[5] !== undefined || m[6] !== undefined) {
      out.push(<em key={key}>{inline(m[5] ?? m[6], key)}</em>);
    } else if (m[7] !== undefined) {
      const url = safeHref(m[8]);
      out.push(
        url ? (
          <a key={key} href={url} target="_blank" rel="noopener noreferrer" className="font-medium text-accent-700 underline decoration-accent-300 underline-offset-2 hover:decoration-accent-600">
            {inline(m[7], key)}
          </a>
        ) : (
          <Fragment key={key}>{m[7]}</Fragment>
        ),
      );
    }
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function lines(text: string[], key: string): ReactNode[] {
  const out: ReactNode[] = [];
  text.forEach((l, i) => {
    if (i > 0) out.push(<br key={`${key}-br${i}`} />);
    out.push(...inline(l, `${key}-l${i}`));
  });
  return out;
}

const TABLE_RULE = /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/;

function cells(row: string): string[] {
  return row.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
}

export function Markdown({ text }: { text: string }) {
  const src = text.replace(/\r\n?/g, "\n").split("\n");
  const blocks: ReactNode[] = [];
  let i = 0;
  let k = 0;
  const key = () => `b${k++}`;
  while (i < src.length) {
    const line = src[i];
    const fence = /^\s*(```+|~~~+)\s*([\w+-]*)/.exec(line);
    if (fence) {
      const body: string[] = [];
      i++;
      while (i < src.length && !src[i].trim().startsWith(fence[1])) body.push(src[i++]);
      i++;
      blocks.push(
        <pre key={key()} className="overflow-x-auto rounded-lg bg-zinc-900 p-3 font-mono text-[12.5px] leading-relaxed text-zinc-100">
          <code>{body.join("\n")}</code>
        </pre>,
      );
      continue;
    }
    if (!line.trim()) {
      i++;
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      const level = heading[1].length;
      const cls = level <= 2 ? "text-base font-semibold" : "text-sm font-semibold";
      blocks.push(
        <p key={key()} role="heading" aria-level={Math.min(level + 2, 6)} className={`${cls} text-zinc-900`}>
          {inline(heading[2], `h${k}`)}
        </p>,
      );
      i++;
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      blocks.push(<hr key={key()} className="border-zinc-200" />);
      i++;
      continue;
    }
    if (line.includes("|") && i + 1 < src.length && TABLE_RULE.test(src[i + 1])) {
      const head = cells(line);
      const rows: string[][] = [];
      i += 2;
      while (i < src.length && src[i].includes("|") && src[i].trim()) rows.push(cells(src[i++]));
      const kk = key();
      blocks.push(
        <div key={kk} className="overflow-x-auto rounded-lg border border-zinc-200">
          <table className="w-full text-left text-[13px]">
            <thead className="bg-zinc-50 text-zinc-600">
              <tr>{head.map((c, j) => <th key={j} className="px-3 py-1.5 font-medium">{inline(c, `${kk}h${j}`)}</th>)}</tr>
            </thead>
            <tbody className="divide-y divide-zinc-100">
              {rows.map((r, ri) => (
                <tr key={ri}>{head.map((_, j) => <td key={j} className="px-3 py-1.5 align-top">{inline(r[j] ?? "", `${kk}r${ri}c${j}`)}</td>)}</tr>
              ))}
            </tbody>
          </table>
        </div>,
      );
      continue;
    }
    const bullet = /^\s*[-*+]\s+/;
    const ordered = /^\s*\d+[.)]\s+/;
    if (bullet.test(line) || ordered.test(line)) {
      const isOrdered = ordered.test(line) && !bullet.test(line);
      const re = isOrdered ? ordered : bullet;
      const items: string[][] = [];
      while (i < src.length && (re.test(src[i]) || (items.length && /^\s{2,}\S/.test(src[i])))) {
        if (re.test(src[i])) items.push([src[i].replace(re, "")]);
        else items[items.length - 1].push(src[i].trim());
        i++;
      }
      const kk = key();
      const children = items.map((it, j) => <li key={j} className="pl-1">{lines(it, `${kk}-${j}`)}</li>);
      blocks.push(
        isOrdered ? (
          <ol key={kk} className="list-decimal space-y-1 pl-5 marker:text-zinc-400">{children}</ol>
        ) : (
          <ul key={kk} className="list-disc space-y-1 pl-5 marker:text-zinc-400">{children}</ul>
        ),
      );
      continue;
    }
    if (/^\s*>/.test(line)) {
      const body: string[] = [];
      while (i < src.length && /^\s*>/.test(src[i])) body.push(src[i++].replace(/^\s*>\s?/, ""));
      const kk = key();
      blocks.push(
        <blockquote key={kk} className="border-l-2 border-zinc-300 pl-3 text-zinc-600">{lines(body, kk)}</blockquote>,
      );
      continue;
    }
    const para: string[] = [];
    while (
      i < src.length &&
      src[i].trim() &&
      !/^\s*(```|~~~|#{1,6}\s|>|[-*+]\s|\d+[.)]\s)/.test(src[i])
    ) {
      para.push(src[i++]);
    }
    if (!para.length) para.push(src[i++]);
    const kk = key();
    blocks.push(<p key={kk}>{lines(para, kk)}</p>);
  }
  return <div className="space-y-3 break-words">{blocks}</div>;
}
