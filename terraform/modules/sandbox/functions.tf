# The three fakes of fakes/, one Cloud Functions (2nd gen) HTTP function each, from fakes.zip
# (fakes/main.py). Each reads its key from the platform's own secret of it, across projects, so
# one `gcloud secrets versions add` serves both sides and no key passes through Terraform.
#
# The fakes keep their state in memory (authorizations, messages, POS orders): one instance
# each (max_instance_count = 1), so every request sees the same state. A recycled instance
# (idle for a while, or redeployed) starts empty; the platform's flows finish within minutes.

locals {
  fakes = {
    # Authenticates every call itself: Authorization: Bearer <PAYMENT_PROCESSOR_KEY>.
    payment-processor = {
      target      = "payment_processor"
      description = "Fake payment processor (dev sandbox)."
      secrets     = { PAYMENT_PROCESSOR_KEY = var.secrets.payment_processor_key }
      public      = true
      environment = {}
    }
    # Authenticates every call itself: Authorization: Bearer <PUSH_PROVIDER_KEY>.
    push-provider = {
      target      = "push_provider"
      description = "Fake push-notification provider (dev sandbox)."
      secrets     = { PUSH_PROVIDER_KEY = var.secrets.push_provider_key }
      public      = true
      environment = {}
    }
    # Private: Cloud Run lets in only var.pos_invokers (the order subsystem's POS gateway, which
    # sends a Google ID token in X-Serverless-Authorization). The fake itself takes orders and
    # cancellations only with Authorization: Bearer <POS_API_KEY>; it holds only sandbox orders,
    # calls back only under pos_callback_prefix (the platform's webhook, signed with
    # POS_WEBHOOK_SECRET), and its fault-injection routes are closed.
    point-of-sale = {
      target      = "point_of_sale"
      description = "Fake restaurant point of sale, staff on autopilot (dev sandbox)."
      secrets = {
        POS_API_KEY        = var.secrets.pos_api_key
        POS_WEBHOOK_SECRET = var.secrets.pos_webhook_secret
      }
      public = false
      environment = merge(
        { POS_AUTO_ANSWER_S = tostring(var.pos_auto_answer_s), POS_HOLD_S = "8" },
        var.pos_callback_prefix == null ? {} : { POS_CALLBACK_PREFIX = var.pos_callback_prefix },
      )
    }
  }
  # fake/SETTING => the secret it reads, for the cross-project accessor grants.
  fake_secrets = merge([
    for name, fake in local.fakes : {
      for setting, secret in fake.secrets : "${name}/${setting}" => merge(secret, { fake = name })
    }
  ]...)
}

resource "google_service_account" "fake" {
  for_each = local.fakes

  project      = local.project_id
  account_id   = "fake-${each.key}"
  display_name = "fake ${each.key}"
  description  = "Runtime identity of the sandbox's fake ${each.key}: it may read its own key, nothing else."
  depends_on   = [google_project_service.api]
}

# Only the fake's own secret, in the subsystem project that holds it.
resource "google_secret_manager_secret_iam_member" "fake" {
  for_each = local.fake_secrets

  project   = each.value.project
  secret_id = each.value.secret
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.fake[each.value.fake].member
}

resource "google_cloudfunctions2_function" "fake" {
  #checkov:skip=CKV_GCP_124:A third party is reached over the internet: the subsystems call the fakes from their own projects, without a VPC, so internal-only ingress would refuse them (see locals for who authenticates how).
  for_each = local.fakes

  project     = local.project_id
  location    = var.region
  name        = each.key
  description = each.value.description
  labels      = merge(local.labels, { service = each.key })

  build_config {
    runtime         = var.runtime
    entry_point     = each.value.target
    service_account = google_service_account.builder.id

    source {
      storage_source {
        bucket = google_storage_bucket.artifacts.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email = google_service_account.fake[each.key].email
    available_memory      = "512Mi"
    available_cpu         = "1" # serving requests concurrently needs a whole vCPU
    timeout_seconds       = 60
    min_instance_count    = 0
    max_instance_count    = 1 # state in memory: one instance holds it all...
    # ...so it takes calls side by side (the point of sale holds one for seconds).
    max_instance_request_concurrency = 40
    all_traffic_on_latest_revision   = true
    ingress_settings                 = "ALLOW_ALL" # the subsystems call from their own projects
    # Cloud Functions adds LOG_EXECUTION_ID itself; declaring it avoids a diff on every plan.
    environment_variables = merge(each.value.environment, { LOG_EXECUTION_ID = "true" })

    dynamic "secret_environment_variables" {
      for_each = each.value.secrets
      content {
        key        = secret_environment_variables.key
        project_id = secret_environment_variables.value.project
        secret     = secret_environment_variables.value.secret
        version    = "latest"
      }
    }
  }

  depends_on = [
    google_project_iam_member.builder,
    google_storage_bucket_iam_member.builder,
    google_secret_manager_secret_iam_member.fake,
  ]
}

# The payment processor and the push provider are reached as third parties are: over the
# internet, with their own API keys, not Google identities. So everyone may reach them.
resource "google_cloud_run_v2_service_iam_member" "public" {
  for_each = { for name, fake in local.fakes : name => fake if fake.public }

  project  = local.project_id
  location = var.region
  name     = google_cloudfunctions2_function.fake[each.key].name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# The point of sale answers only the identities allowed to call it.
resource "google_cloud_run_v2_service_iam_member" "pos_invoker" {
  for_each = var.pos_invokers

  project  = local.project_id
  location = var.region
  name     = google_cloudfunctions2_function.fake["point-of-sale"].name
  role     = "roles/run.invoker"
  member   = each.value
}
