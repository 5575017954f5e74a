import Sluice

/// The pipelines this executable runs. Add a pipeline here after declaring it in `Pipelines/`.
let catalog = PipelineCatalog([
    OrderTotals(),
    OrderTotalsCodable(),
    PaymentService(),
    OrdersPerMinute(),
    OrderEnrichment(),
    AvroOrderTotals(),
])
