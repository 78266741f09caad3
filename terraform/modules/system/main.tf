# The system in one environment: one project per subsystem, and the bridges that carry
# each published contract from its producer's `external` topic to its consumers.

check "every_subsystem_has_a_project" {
  assert {
    condition     = length(setsubtract(keys(var.subsystems), keys(var.project_ids))) == 0
    error_message = "project_ids lacks ${join(", ", setsubtract(keys(var.subsystems), keys(var.project_ids)))}."
  }
}

locals {
  # "consumer/function" => the ingress channel, for every subscription on another subsystem.
  ingresses = merge([
    for consumer, sub in var.subsystems : {
      for name, fn in sub.functions : "${consumer}/${name}" => {
        consumer     = consumer
        function     = name
        producer     = fn.subscription.producer
        subscription = fn.subscription
      } if try(fn.subscription.producer, null) != null
    }
  ]...)
}

module "subsystem" {
  source   = "../subsystem"
  for_each = var.subsystems

  name                = each.key
  env                 = var.env
  project_id          = var.project_ids[each.key]
  create_project      = var.create_projects
  folder_id           = var.folder_id
  org_id              = var.org_id
  billing_account     = var.billing_account
  region              = var.region
  firestore_location  = var.firestore_location
  deletion_protection = var.deletion_protection
  lake_retention_days = var.lake_retention_days
  labels              = var.labels

  topics            = each.value.topics
  envelope_schema   = var.envelope_schema
  functions         = each.value.functions
  firestore_indexes = each.value.firestore_indexes
  ttl_fields        = each.value.firestore_ttl_fields

  projects            = var.project_ids
  settings            = lookup(var.settings, each.key, {})
  secret_settings     = lookup(var.secret_settings, each.key, [])
  url_settings        = lookup(var.url_settings, each.key, {})
  auth                = var.auth
  source_archive_path = "${var.archive_dir}/${each.key}.zip"
  runtime             = var.runtime
  max_instances       = var.max_instances
}

module "bridge" {
  source   = "../bridge"
  for_each = local.ingresses

  consumer_project_id  = module.subsystem[each.value.consumer].project_id
  producer_topic_id    = module.subsystem[each.value.producer].topic_ids[each.value.subscription.topic]
  push_endpoint        = module.subsystem[each.value.consumer].function_urls[each.value.function]
  push_service_account = module.subsystem[each.value.consumer].push_service_account
  dead_letter_topic_id = module.subsystem[each.value.consumer].topic_ids["faults"]
  pubsub_service_agent = module.subsystem[each.value.consumer].pubsub_service_agent
  attach_members       = lookup(var.attach_members, each.value.consumer, [])
  labels               = merge(var.labels, { system = "fooddelivery", subsystem = each.value.consumer, env = var.env })

  subscription = {
    id                    = each.value.subscription.id
    filter                = each.value.subscription.filter
    ordered               = each.value.subscription.ordered
    ack_deadline_s        = each.value.subscription.ack_deadline_s
    min_backoff_s         = each.value.subscription.min_backoff_s
    max_backoff_s         = each.value.subscription.max_backoff_s
    max_delivery_attempts = each.value.subscription.max_delivery_attempts
  }
}
