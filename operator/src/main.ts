import { ConfigError, loadEnv } from '@amanat/kit/config/env';
import { OperatorEnv } from './config.ts';
import { startOperator } from './operator.ts';

try {
  const config = loadEnv(OperatorEnv);
  const operator = await startOperator(config, {
    onLostLeadership: () => {
      process.exitCode = 1;
      void operator.stop().finally(() => process.exit(1));
    },
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void operator.stop().then(() => process.exit(0));
    });
  }
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`operator: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
