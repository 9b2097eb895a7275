"""Training on Hugging Face Jobs: what a job runs (`code`, `spec`), talking to the Jobs API (`client`),
and a whole remote training from submission to a published or downloaded edit (`remote`)."""
