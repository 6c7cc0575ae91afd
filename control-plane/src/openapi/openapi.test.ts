import { describeOpenApiSnapshot } from '@amanat/kit/http/openapi-snapshot';
import { openApiDocument, snapshotPath } from './snapshot.ts';

describeOpenApiSnapshot('control plane', openApiDocument, snapshotPath);
