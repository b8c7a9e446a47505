// The Stagecraft extension: starts `stagecraft lsp` and connects it to
// `.playbook` files. Highlighting comes from the TextMate grammar alone.
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

/** @type {LanguageClient | undefined} */
let client;

function createClient() {
  const config = vscode.workspace.getConfiguration('stagecraft');
  const command = config.get('serverPath') || 'stagecraft';
  const args = ['lsp', ...(config.get('serverArgs') || [])];
  const docsUrl = config.get('diagnosticsDocsUrl');
  // With the stdio transport the client adds `--stdio`, which the server
  // accepts.
  const run = { command, args, transport: TransportKind.stdio };
  return new LanguageClient(
    'stagecraft',
    'Stagecraft',
    { run, debug: run },
    {
      documentSelector: [
        { scheme: 'file', language: 'stagecraft' },
        { scheme: 'untitled', language: 'stagecraft' },
      ],
      initializationOptions: docsUrl ? { diagnosticsDocsUrl: docsUrl } : {},
    },
  );
}

async function start() {
  client = createClient();
  try {
    await client.start();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    vscode.window.showErrorMessage(
      `Stagecraft: could not start \`stagecraft lsp\` (${message}). ` +
        'Install the stagecraft binary or set "stagecraft.serverPath".',
    );
  }
}

async function restart() {
  if (client) {
    const old = client;
    client = undefined;
    await old.stop().catch(() => undefined);
  }
  await start();
}

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('stagecraft.restartServer', restart),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (
        event.affectsConfiguration('stagecraft.serverPath') ||
        event.affectsConfiguration('stagecraft.serverArgs') ||
        event.affectsConfiguration('stagecraft.diagnosticsDocsUrl')
      ) {
        restart();
      }
    }),
  );
  await start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
