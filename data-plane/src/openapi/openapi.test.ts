import { describeOpenApiSnapshot } from '@amanat/kit/http/openapi-snapshot';
import { openApiDocument, snapshotPath } from './snapshot.ts';

describeOpenApiSnapshot('data plane', openApiDocument, snapshotPath);
