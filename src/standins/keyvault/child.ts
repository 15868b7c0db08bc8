/**
 * The Key Vault stand-in in its own process, so its TLS handshakes and request handling do not
 * share the measuring process's event loop (benchmarks). Started by `startKeyVaultInChild`.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { startKeyVaultStandIn, type KeyVaultStandInOptions } from './server';

interface Ready {
  readonly url: string;
  readonly ca: string;
}

export interface ChildKeyVault extends Ready {
  stop(): Promise<void>;
}

export async function startKeyVaultInChild(options: KeyVaultStandInOptions): Promise<ChildKeyVault> {
  const child = fork(__filename, [JSON.stringify(options)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const [ready] = (await once(child, 'message')) as [Ready];
  return {
    ...ready,
    stop: async () => {
      const exited = once(child, 'exit');
      child.disconnect();
      await exited;
    },
  };
}

if (require.main === module && process.send) {
  const options = JSON.parse(process.argv[2] ?? '{}') as KeyVaultStandInOptions;
  void startKeyVaultStandIn(options).then((kv) => {
    process.send!({ url: kv.url, ca: kv.ca } satisfies Ready);
    // The parent going away (or disconnecting) ends the stand-in.
    process.on('disconnect', () => {
      void kv.close().then(() => process.exit(0));
    });
  });
}
