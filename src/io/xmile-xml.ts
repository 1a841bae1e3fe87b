import { SaxesParser } from "saxes";
import { type Diagnostic, DiagnosticError } from "../lang/diagnostic.js";

/** An XML element as XMILE import reads it: lower-case name (namespaced names kept), attributes, text, position. */
export interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  text: string;
  line: number;
  col: number;
}

export function parseXml(file: string, text: string): XmlNode {
  const parser = new SaxesParser({ xmlns: false, position: true });
  const root: XmlNode = { name: "#root", attrs: {}, children: [], text: "", line: 1, col: 1 };
  const stack: XmlNode[] = [root];
  let error: Diagnostic | undefined;
  // Some exporters append a second document after the root closes; what follows the root is ignored.
  let rootClosed = false;
  parser.on("error", (e) => {
    if (rootClosed) return;
    error ??= {
      file,
      line: parser.line,
      col: parser.column + 1,
      message: `malformed XML: ${e.message.replace(/^\d+:\d+: /, "")}`,
    };
  });
  parser.on("opentag", (tag) => {
    const name = tag.name.includes(":") ? tag.name : tag.name.toLowerCase();
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(tag.attributes)) attrs[k.toLowerCase()] = String(v);
    const node: XmlNode = { name, attrs, children: [], text: "", line: parser.line, col: parser.column };
    stack[stack.length - 1]!.children.push(node);
    stack.push(node);
  });
  parser.on("text", (t) => {
    stack[stack.length - 1]!.text += t;
  });
  parser.on("cdata", (t) => {
    stack[stack.length - 1]!.text += t;
  });
  parser.on("closetag", () => {
    stack.pop();
    if (stack.length === 1 && root.children.length > 0) rootClosed = true;
  });
  try {
    parser.write(text).close();
  } catch {
    // Reported through the error handler.
  }
  if (error) throw new DiagnosticError([error]);
  return root;
}

export const child = (n: XmlNode, name: string) => n.children.find((c) => c.name === name);
export const children = (n: XmlNode, name: string) => n.children.filter((c) => c.name === name);
