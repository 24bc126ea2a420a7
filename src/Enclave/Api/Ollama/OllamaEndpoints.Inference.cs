using System.Diagnostics;
using System.Text.Json;
using Enclave.Security.Auth;

namespace Enclave.Api.Ollama;

/// <summary><c>/api/chat</c>, <c>/api/generate</c>, <c>/api/embed</c> and <c>/api/embeddings</c>.</summary>
public static partial class OllamaEndpoints
{
    private static readonly TimeSpan ReadyWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Checks and translates the Ollama body, then runs the OpenAI pipeline with the translated body in the request
    /// and a translating response body in place. Every request leaves exactly one usage record: the pipeline's for
    /// forwarded requests, this handler's for requests refused before forwarding and for load calls.
    /// </summary>
    private static async Task InferAsync(HttpContext context, ForwardServices services, OllamaKind kind)
    {
        var started = Stopwatch.GetTimestamp();
        var route = RouteOf(kind);
        var limits = services.Limits.Value;
        string? requested = null;
        OllamaCall call;
        try
        {
            // The same checks as /v1/* (size, strict JSON, depth, no backend-steering fields, a sane model name),
            // but any Content-Type: Ollama accepts bodies sent as curl's default form type.
            var bytes = await RequestGuard.ReadBodyAsync(context.Request, limits.MaxBodyBytes, context.RequestAborted);
            var field = RequestGuard.Inspect(bytes.Span, limits.MaxJsonDepth, rejectForwardingFields: true);
            requested = RequestGuard.CheckModel(field, limits.MaxModelNameLength);
            using var document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = limits.MaxJsonDepth });
            var model = OllamaWire.Resolve(requested, services.Router.IsKnown);
            call = kind switch
            {
                OllamaKind.Chat => OllamaRequestTranslator.Chat(document.RootElement, requested, model),
                OllamaKind.Generate => OllamaRequestTranslator.Generate(document.RootElement, requested, model),
                OllamaKind.Embed => OllamaRequestTranslator.Embed(document.RootElement, requested, model),
                _ => OllamaRequestTranslator.Embeddings(document.RootElement, requested, model),
            };
        }
        catch (ApiErrorException ex)
        {
            await RejectAsync(context, services, route, requested, ex.Error);
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            await RecordAsync(context, services, route, requested ?? "", m => m.Fail(StatusCodes.Status499ClientClosedRequest, "client_closed"));
            return;
        }

        if (call.Body is null)
        {
            await LoadAsync(context, services, route, call);
            return;
        }

        context.Request.Body = new MemoryStream(call.Body, writable: false);
        context.Request.ContentType = "application/json";
        context.Request.ContentLength = call.Body.Length;
        var body = OllamaResponseBody.Install(context, new OllamaResponseTranslator(call, services.Time, started), call.Stream);
        try
        {
            await GatewayEndpoints.ForwardAsync(context, services, call.UpstreamPath!, route);
            await body.FinishAsync(context.RequestAborted);
            ApplyKeepAlive(services, call);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; the pipeline has recorded the request as closed by the client.
        }
        finally
        {
            body.Uninstall();
        }
    }

    /// <summary>
    /// Ollama's "load the model" call (a request with nothing to run): loads a local model (within the memory
    /// budget) and answers once its worker is ready; with <c>keep_alive: 0</c> it unloads the model when idle. A
    /// remote backend loads its models itself.
    /// </summary>
    /// <summary>A request's <c>keep_alive</c> applies to its local model from the end of the request on.</summary>
    private static void ApplyKeepAlive(ForwardServices services, OllamaCall call)
    {
        if (call.KeepAlive is { } keepAlive && services.Models.Find(call.Model) is not null)
        {
            services.Models.SetKeepAlive(call.Model, keepAlive);
        }
    }

    private static async Task LoadAsync(HttpContext context, ForwardServices services, string route, OllamaCall call)
    {
        // A model outside the key's globs answers exactly like a model that does not exist.
        if (!EnclaveClaims.CanUseModel(context.User, call.Model) || !services.Router.IsKnown(call.Model))
        {
            await RejectAsync(context, services, route, call.RequestedModel, ApiError.ModelNotFound(call.Model), call.Model);
            return;
        }

        if (call.LoadReason == "unload")
        {
            // keep_alive 0 with nothing to run: unload now if idle (a local model; a remote backend manages its own).
            services.Models.SetKeepAlive(call.Model, TimeSpan.Zero);
        }
        else if (services.Models.Find(call.Model) is not null)
        {
            Backends.ModelAdmission admission;
            try
            {
                admission = await services.Models.AcquireAsync(call.Model, context.RequestAborted);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                await RecordAsync(context, services, route, call.Model, m => m.Fail(StatusCodes.Status499ClientClosedRequest, "client_closed"));
                return;
            }

            if (admission.Lease is not { } lease)
            {
                context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(admission.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await RejectAsync(context, services, route, call.RequestedModel, ApiError.Unavailable(admission.Refusal ?? "The model cannot be loaded now."), call.Model);
                return;
            }

            using (lease)
            {
                bool ready;
                try
                {
                    ready = await services.Models.Find(call.Model)!.WaitReadyAsync(ReadyWait, context.RequestAborted);
                }
                catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
                {
                    await RecordAsync(context, services, route, call.Model, m => m.Fail(StatusCodes.Status499ClientClosedRequest, "client_closed"));
                    return;
                }

                if (!ready)
                {
                    await RejectAsync(context, services, route, call.RequestedModel,
                        ApiError.Unavailable($"The model '{RequestGuard.Printable(call.RequestedModel)}' is still loading. Retry shortly."), call.Model);
                    return;
                }
            }

            ApplyKeepAlive(services, call);
        }

        await RecordAsync(context, services, route, call.Model, m =>
        {
            m.Stream = call.Stream;
            m.FinishReason = call.LoadReason;
        });
        var now = OllamaWire.Rfc3339(services.Time.GetUtcNow());
        await WriteJsonAsync(context, w =>
        {
            w.WriteStartObject();
            switch (call.Kind)
            {
                case OllamaKind.Chat:
                    w.WriteString("model", call.RequestedModel);
                    w.WriteString("created_at", now);
                    w.WriteStartObject("message");
                    w.WriteString("role", "assistant");
                    w.WriteString("content", "");
                    w.WriteEndObject();
                    w.WriteBoolean("done", true);
                    w.WriteString("done_reason", call.LoadReason);
                    break;
                case OllamaKind.Generate:
                    w.WriteString("model", call.RequestedModel);
                    w.WriteString("created_at", now);
                    w.WriteString("response", "");
                    w.WriteBoolean("done", true);
                    w.WriteString("done_reason", call.LoadReason);
                    break;
                case OllamaKind.Embed:
                    w.WriteString("model", call.RequestedModel);
                    w.WriteStartArray("embeddings");
                    w.WriteEndArray();
                    break;
                default:
                    w.WriteStartArray("embedding");
                    w.WriteEndArray();
                    break;
            }

            w.WriteEndObject();
        });
    }

    /// <summary>Records a request refused before forwarding and answers with Ollama's error object.</summary>
    private static async Task RejectAsync(HttpContext context, ForwardServices services, string route, string? requested, ApiError error, string? model = null)
    {
        await RecordAsync(context, services, route, model ?? requested ?? "", m => m.Fail(error.Status, error.Code ?? "invalid_request"));
        await OllamaError.WriteResponseAsync(context, error, requested);
    }

    private static async Task RecordAsync(HttpContext context, ForwardServices services, string route, string model, Action<RequestMeter> fill)
    {
        var meter = new RequestMeter(context, route, services.Time, services.Ledger, services.Telemetry, services.Loggers.CreateLogger("Enclave.Api.Ollama"))
        {
            Model = model,
        };
        fill(meter);
        await meter.CommitAsync();
    }
}
