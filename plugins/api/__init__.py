"""The /v1 API of plugins, one DRF viewset per resource (plugins, versions, instances,
executions), routed explicitly in plugins/urls.py because the API family's URL shapes are not a
router's (`technical_name=<name>`, `integration_batch_instances.executions`)."""
