variable "name" {
  description = "The subsystem's name, as its topology and its entry point name it (e.g. order)."
  type        = string
}

variable "env" {
  description = "The environment, e.g. \"dev\" or \"prod\" (labels, FOODDELIVERY_ENV)."
  type        = string
}

variable "project_id" {
  description = "The subsystem's own project id in this environment."
  type        = string
}

variable "create_project" {
  description = "Create the project (true) or deploy into an existing, empty one (false)."
  type        = bool
  default     = true
}

variable "folder_id" {
  description = "Folder to create the project in (\"folders/123\" or \"123\"); null to use org_id."
  type        = string
  default     = null
}

variable "org_id" {
  description = "Organization to create the project in when folder_id is null."
  type        = string
  default     = null
}

variable "billing_account" {
  description = "Billing account id (XXXXXX-XXXXXX-XXXXXX) the new project is linked to."
  type        = string
  default     = null
}

variable "region" {
  description = "Region of the functions, subscriptions, buckets and scheduler jobs."
  type        = string
}

variable "firestore_location" {
  description = "Location of the Firestore database (a region, or a multi-region such as nam5)."
  type        = string
}

variable "deletion_protection" {
  description = "Protect the project, the Firestore database and the lake from deletion (prod)."
  type        = bool
}

variable "envelope_schema" {
  description = "The Avro schema every external topic checks messages against (generated: topology.auto.tfvars.json)."
  type = object({
    id         = string
    definition = string
  })
}

variable "topics" {
  description = "The subsystem's topics (generated: bus, external, faults)."
  type        = list(string)
}

variable "functions" {
  description = "The subsystem's functions, generated from its topology (topology.auto.tfvars.json)."
  type = map(object({
    target          = string
    service         = string
    role            = string
    kind            = string
    public          = bool
    publishes_to    = list(string)
    secrets         = list(string)
    verifies_tokens = bool
    subscription = optional(object({
      id                    = string
      topic                 = string
      producer              = optional(string)
      filter                = string
      ordered               = bool
      ack_deadline_s        = number
      min_backoff_s         = number
      max_backoff_s         = number
      max_delivery_attempts = optional(number)
    }))
    collection = optional(string)
    schedule = optional(object({
      cron = string
    }))
  }))

  validation {
    condition     = alltrue([for f in values(var.functions) : contains(["http", "push", "trigger", "schedule"], f.kind)])
    error_message = "A function's kind is http, push, trigger or schedule."
  }
}

variable "firestore_indexes" {
  description = "Composite indexes the subsystem's queries need (generated)."
  type = list(object({
    collection = string
    fields = list(object({
      field_path = string
      order      = string
    }))
  }))
  default = []
}

variable "ttl_fields" {
  description = "Fields whose timestamp is when Firestore may delete their document (generated)."
  type = list(object({
    collection = string
    field      = string
  }))
  default = []
}

variable "projects" {
  description = "Every subsystem's project id in this environment (FOODDELIVERY_PROJECT_<NAME>)."
  type        = map(string)
}

variable "settings" {
  description = "Plain settings of the subsystem, e.g. third-party URLs: NAME => value (FOODDELIVERY_<NAME>)."
  type        = map(string)
  default     = {}
}

variable "secret_settings" {
  description = "Settings held in Secret Manager (third-party keys): names only, values are added with gcloud."
  type        = list(string)
  default     = []
}

variable "url_settings" {
  description = "Settings whose value is the URL of one of the subsystem's functions: NAME => function name."
  type        = map(string)
  default     = {}
}

variable "auth" {
  description = "How BFFs verify bearer tokens: identity-platform (of identity_project, and of its tenant identity_tenant when users sign in to one; without it, tokens of any tenant are refused) or local-test (a shared development key from Secret Manager; dev only)."
  type = object({
    mode             = string
    identity_project = optional(string)
    identity_tenant  = optional(string)
  })

  validation {
    condition     = contains(["identity-platform", "local-test"], var.auth.mode)
    error_message = "auth.mode is identity-platform or local-test."
  }

  # Without it every BFF call fails: the functions have no project to check tokens against.
  validation {
    condition     = var.auth.mode != "identity-platform" || try(length(var.auth.identity_project) > 0, false)
    error_message = "auth.mode identity-platform needs auth.identity_project, the project whose Identity Platform signs users in."
  }
}

variable "source_archive_path" {
  description = "Local path of the subsystem's function source archive (built by fooddelivery deploy)."
  type        = string
}

variable "runtime" {
  description = "Cloud Functions Python runtime."
  type        = string
  default     = "python312"
}

variable "lake_retention_days" {
  description = "Days an event stays in each subsystem's lake before it is deleted, for a data-retention policy (the lake holds customers' delivery addresses and drivers' names and reported locations); views rebuilt from the lake then see only that window. null (the default) keeps every event for good."
  type        = number
  default     = null

  validation {
    condition     = var.lake_retention_days == null ? true : var.lake_retention_days >= 1 && floor(var.lake_retention_days) == var.lake_retention_days
    error_message = "lake_retention_days is a whole number of days, at least 1, or null (kept for good)."
  }
}

variable "max_instances" {
  description = "Upper bound on each function's instances."
  type        = number
  default     = 10
}

variable "labels" {
  description = "Extra labels for every labelled resource."
  type        = map(string)
  default     = {}
}
