// Loaded by a plain `node` from a folder where @opentelemetry/api cannot be found (see
// no-api.test.ts): importing @x/otel works; instrument() throws the typed error.
import { instrument, isOtelError } from '../index.js';

try {
  instrument();
  console.log('instrument() did not throw');
  process.exitCode = 1;
} catch (error) {
  console.log(
    JSON.stringify({
      otel: isOtelError(error, 'E_OTEL_API_MISSING'),
      name: (error as Error).name,
      code: (error as { code?: string }).code,
      message: (error as Error).message,
      cause: ((error as Error).cause as { code?: string } | undefined)?.code,
    }),
  );
}
