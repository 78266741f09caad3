# The subsystem's functions, one module instance per entry of the generated `functions` map.

locals {
  settings_env = merge(
    {
      FOODDELIVERY_MODE       = "gcp"
      FOODDELIVERY_ENV        = var.env
      FOODDELIVERY_PROJECT    = local.project_id
      FOODDELIVERY_LOG_FORMAT = "json"
      GOOGLE_CLOUD_PROJECT    = local.project_id
    },
    { for name, id in var.projects : "FOODDELIVERY_PROJECT_${upper(name)}" => id },
    { for name, value in var.settings : "FOODDELIVERY_${name}" => value },
    # The cloudfunctions.net URL is known before the function exists: no dependency cycle.
    { for name, fn in var.url_settings : "FOODDELIVERY_${name}" => "https://${var.region}-${local.project_id}.cloudfunctions.net/${fn}" },
    var.auth.mode == "identity-platform" ? tomap(merge(
      {
        FOODDELIVERY_AUTH             = "identity-platform"
        FOODDELIVERY_IDENTITY_PROJECT = var.auth.identity_project
      },
      var.auth.identity_tenant == null ? {} : { FOODDELIVERY_IDENTITY_TENANT = var.auth.identity_tenant },
      )) : tomap({
      FOODDELIVERY_AUTH    = "local"
      FOODDELIVERY_DEV_KEY = "${local.dev_key_dir}/key.pem"
    }),
  )
  # Each function is given, and may read, only the secrets its topology entry declares.
  secret_env = {
    for fn_name, fn in var.functions : fn_name => {
      for name in fn.secrets : "FOODDELIVERY_${name}" => google_secret_manager_secret.setting[local.secret_ids[name]].secret_id
      if contains(var.secret_settings, name) # an undeclared one stops the plan at terraform_data.declared_secrets
    }
  }
  secret_files = var.auth.mode == "local-test" ? { (google_secret_manager_secret.setting[local.dev_key_secret].secret_id) = { mount_path = local.dev_key_dir, file = "key.pem" } } : {}
  # Keyed by a name known at plan time: an account's `member` is known only once it exists.
  invoker_by_kind = tomap({
    http     = tomap({})
    push     = { push = google_service_account.invoker["push"].member }
    trigger  = { eventarc = google_service_account.invoker["eventarc"].member }
    schedule = { scheduler = google_service_account.invoker["scheduler"].member }
  })
}

module "function" {
  source   = "../function"
  for_each = var.functions

  project_id            = local.project_id
  region                = var.region
  name                  = each.key
  target                = each.value.target
  description           = "${each.value.service} ${each.value.role} (${var.name})"
  runtime               = var.runtime
  source_archive        = { bucket = google_storage_bucket.artifacts.name, object = google_storage_bucket_object.source.name }
  build_service_account = google_service_account.builder.id
  max_instances         = var.max_instances
  labels                = merge(local.labels, { service = each.value.service })
  # A push consumer has until its channel's ack deadline to answer: the request may take as
  # long (a shorter timeout fails work the channel allows), and no longer (Pub/Sub would
  # redeliver while the first attempt still runs).
  timeout_s = try(each.value.subscription.ack_deadline_s, 60)

  environment        = local.settings_env
  secret_environment = local.secret_env[each.key]
  secret_files       = each.value.verifies_tokens ? local.secret_files : {} # the BFF APIs only
  public             = each.value.public
  invokers           = local.invoker_by_kind[each.value.kind]
  publish_topics     = { for topic in each.value.publishes_to : topic => google_pubsub_topic.this[topic].id }

  # Subscriptions on the own topics; an ingress's subscription on another subsystem's
  # `external` topic is made by a bridge (modules/bridge).
  push_subscription = try(each.value.subscription.producer, null) == null && each.value.subscription != null ? {
    id                    = each.value.subscription.id
    topic_id              = google_pubsub_topic.this[each.value.subscription.topic].id
    filter                = each.value.subscription.filter
    ordered               = each.value.subscription.ordered
    ack_deadline_s        = each.value.subscription.ack_deadline_s
    min_backoff_s         = each.value.subscription.min_backoff_s
    max_backoff_s         = each.value.subscription.max_backoff_s
    max_delivery_attempts = each.value.subscription.max_delivery_attempts
    dead_letter_topic_id  = each.value.subscription.max_delivery_attempts == null ? null : google_pubsub_topic.this["faults"].id
    push_service_account  = google_service_account.invoker["push"].email
    pubsub_service_agent  = local.pubsub_service_agent
  } : null

  firestore_trigger = each.value.kind == "trigger" ? {
    collection      = each.value.collection
    database        = google_firestore_database.this.name
    location        = var.firestore_location
    service_account = google_service_account.invoker["eventarc"].email
  } : null

  schedule = each.value.kind == "schedule" ? {
    cron            = each.value.schedule.cron
    service_account = google_service_account.invoker["scheduler"].email
  } : null

  # New code goes live once the indexes its queries need are built (a query without its
  # index fails), and an index it no longer needs is deleted only after it went live. Nothing
  # pushes to it before Pub/Sub may sign the push and Eventarc identities' tokens (refused
  # pushes are dead-lettered).
  depends_on = [
    google_project_iam_member.builder,
    google_storage_bucket_iam_member.builder, # the build reads the source archive
    google_project_iam_member.eventarc_receiver,
    google_service_account_iam_member.push_token_creator,
    google_firestore_index.this,
  ]
}
