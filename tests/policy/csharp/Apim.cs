// A typed stand-in for the context API that API Management gives policy expressions, written from
// Microsoft's policy-expressions reference (learn.microsoft.com/azure/api-management/
// api-management-policy-expressions, "Context variable"): the same members, names and types, so an
// expression that compiles here uses only what the reference documents. The classes below the
// interfaces make the members work, so tests can run the expressions on a sample request.
// Newtonsoft.Json is the real library (Debian's libnewtonsoft-json5.0-cil), as in APIM.

using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography.X509Certificates;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Pros.Apim
{
    public interface IUrl
    {
        string Host { get; }
        string Path { get; }
        int Port { get; }
        IReadOnlyDictionary<string, string[]> Query { get; }
        string QueryString { get; }
        string Scheme { get; }
    }

    public interface IMessageBody
    {
        // T: string, byte[], JObject, JToken, JArray, XNode, XElement, XDocument.
        T As<T>(bool preserveContent = false);
    }

    public interface ISubscriptionKeyParameterNames
    {
        string Header { get; }
        string Query { get; }
    }

    public interface IApi
    {
        string Id { get; }
        string Name { get; }
        string Path { get; }
        IEnumerable<string> Protocols { get; }
        IUrl ServiceUrl { get; }
        ISubscriptionKeyParameterNames SubscriptionKeyParameterNames { get; }
        bool IsCurrentRevision { get; }
        string Revision { get; }
        string Version { get; }
    }

    public interface IDeployment
    {
        string GatewayId { get; }
        string Region { get; }
        string ServiceName { get; }
        IReadOnlyDictionary<string, X509Certificate2> Certificates { get; }
    }

    public interface ILastError
    {
        string Source { get; }
        string Reason { get; }
        string Message { get; }
        string Scope { get; }
        string Section { get; }
        string Path { get; }
        string PolicyId { get; }
    }

    public interface IOperation
    {
        string Id { get; }
        string Method { get; }
        string Name { get; }
        string UrlTemplate { get; }
    }

    public interface IGroup
    {
        string Id { get; }
        string Name { get; }
    }

    public enum ProductState { NotPublished, Published }

    public interface IProduct
    {
        IEnumerable<IApi> Apis { get; }
        bool ApprovalRequired { get; }
        IEnumerable<IGroup> Groups { get; }
        string Id { get; }
        string Name { get; }
        ProductState State { get; }
        int? SubscriptionLimit { get; }
        bool SubscriptionRequired { get; }
    }

    public interface IPrivateEndpointConnection
    {
        string Name { get; }
        string GroupId { get; }
        string MemberName { get; }
    }

    public interface IRequest
    {
        IMessageBody Body { get; }
        X509Certificate2 Certificate { get; }
        IReadOnlyDictionary<string, string[]> Headers { get; }
        string IpAddress { get; }
        IReadOnlyDictionary<string, string> MatchedParameters { get; }
        string Method { get; }
        IUrl OriginalUrl { get; }
        IUrl Url { get; }
        IPrivateEndpointConnection PrivateEndpointConnection { get; }
    }

    public interface IResponse
    {
        IMessageBody Body { get; }
        IReadOnlyDictionary<string, string[]> Headers { get; }
        int StatusCode { get; }
        string StatusReason { get; }
    }

    public interface ISubscription
    {
        DateTime CreatedDate { get; }
        DateTime? EndDate { get; }
        string Id { get; }
        string Key { get; }
        string Name { get; }
        string PrimaryKey { get; }
        string SecondaryKey { get; }
        DateTime? StartDate { get; }
    }

    public interface IUserIdentity
    {
        string Id { get; }
        string Provider { get; }
    }

    public interface IUser
    {
        string Email { get; }
        string FirstName { get; }
        IEnumerable<IGroup> Groups { get; }
        string Id { get; }
        IEnumerable<IUserIdentity> Identities { get; }
        string LastName { get; }
        string Note { get; }
        DateTime RegistrationDate { get; }
    }

    public interface IProxyRequestContext
    {
        IApi Api { get; }
        IDeployment Deployment { get; }
        TimeSpan Elapsed { get; }
        ILastError LastError { get; }
        IOperation Operation { get; }
        IProduct Product { get; }
        IRequest Request { get; }
        Guid RequestId { get; }
        IResponse Response { get; }
        ISubscription Subscription { get; }
        DateTime Timestamp { get; }
        bool Tracing { get; }
        IUser User { get; }
        IReadOnlyDictionary<string, object> Variables { get; }
        void Trace(string message);
    }

    public static class ContextExtensions
    {
        // Headers, query parameters: comma-separated values, or defaultValue when absent.
        public static string GetValueOrDefault(this IReadOnlyDictionary<string, string[]> values, string name, string defaultValue)
        {
            string[] found;
            return values.TryGetValue(name, out found) && found != null ? string.Join(",", found) : defaultValue;
        }

        // context.Variables: the value cast to T, defaultValue when absent; a wrong type throws.
        public static T GetValueOrDefault<T>(this IReadOnlyDictionary<string, object> variables, string name, T defaultValue)
        {
            object value;
            if (!variables.TryGetValue(name, out value)) { return defaultValue; }
            return (T)value;
        }
    }

    // ---- working implementations ---------------------------------------------------------------

    public class BodyReadException : Exception
    {
        public BodyReadException(string message) : base(message) { }
    }

    public class MessageBody : IMessageBody
    {
        public string Text;
        public bool Consumed;
        public bool Streamed;  // a response forwarded with buffer-response="false": reading it buffers the stream
        public int Reads;

        public MessageBody(string text) { Text = text; }

        public T As<T>(bool preserveContent = false)
        {
            if (Streamed) { throw new BodyReadException("a streamed (unbuffered) response body was read"); }
            if (Consumed) { throw new BodyReadException("the body was already read without preserveContent"); }
            Reads++;
            if (!preserveContent) { Consumed = true; }
            object result;
            if (typeof(T) == typeof(string)) { result = Text; }
            else if (typeof(T) == typeof(byte[])) { result = System.Text.Encoding.UTF8.GetBytes(Text); }
            else if (typeof(T) == typeof(JObject)) { result = JObject.Parse(Text); }
            else if (typeof(T) == typeof(JArray)) { result = JArray.Parse(Text); }
            else if (typeof(T) == typeof(JToken)) { result = JToken.Parse(Text); }
            else { throw new NotSupportedException("As<" + typeof(T).Name + "> is not simulated"); }
            return (T)result;
        }
    }

    public class Url : IUrl
    {
        public string Host { get; set; }
        public string Path { get; set; }
        public int Port { get; set; }
        public string Scheme { get; set; }
        public Dictionary<string, string[]> QueryValues = new Dictionary<string, string[]>();
        public IReadOnlyDictionary<string, string[]> Query { get { return QueryValues; } }

        public string QueryString
        {
            get
            {
                if (QueryValues.Count == 0) { return ""; }
                return "?" + string.Join("&", QueryValues.SelectMany(p => p.Value.Select(v => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(v))));
            }
        }

        public Url Copy()
        {
            var copy = new Url { Host = Host, Path = Path, Port = Port, Scheme = Scheme };
            foreach (var pair in QueryValues) { copy.QueryValues[pair.Key] = pair.Value.ToArray(); }
            return copy;
        }
    }

    public class Request : IRequest
    {
        public MessageBody BodyValue;
        public Dictionary<string, string[]> HeaderValues = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        public Dictionary<string, string> Matched = new Dictionary<string, string>();
        public Url UrlValue;
        public Url OriginalUrlValue;

        public IMessageBody Body { get { return BodyValue; } }
        public X509Certificate2 Certificate { get { return null; } }
        public IReadOnlyDictionary<string, string[]> Headers { get { return HeaderValues; } }
        public string IpAddress { get; set; }
        public IReadOnlyDictionary<string, string> MatchedParameters { get { return Matched; } }
        public string Method { get; set; }
        public IUrl OriginalUrl { get { return OriginalUrlValue; } }
        public IUrl Url { get { return UrlValue; } }
        public IPrivateEndpointConnection PrivateEndpointConnection { get { return null; } }
    }

    public class Response : IResponse
    {
        public MessageBody BodyValue;
        public Dictionary<string, string[]> HeaderValues = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        public IMessageBody Body { get { return BodyValue; } }
        public IReadOnlyDictionary<string, string[]> Headers { get { return HeaderValues; } }
        public int StatusCode { get; set; }
        public string StatusReason { get; set; }
    }

    public class Api : IApi
    {
        public string Id { get; set; }
        public string Name { get; set; }
        public string Path { get; set; }
        public IEnumerable<string> Protocols { get { return new[] { "https" }; } }
        public IUrl ServiceUrl { get; set; }
        public ISubscriptionKeyParameterNames SubscriptionKeyParameterNames { get { return null; } }
        public bool IsCurrentRevision { get { return true; } }
        public string Revision { get { return "1"; } }
        public string Version { get { return null; } }
    }

    public class Deployment : IDeployment
    {
        public string GatewayId { get { return "managed"; } }
        public string Region { get; set; }
        public string ServiceName { get; set; }
        public IReadOnlyDictionary<string, X509Certificate2> Certificates { get { return new Dictionary<string, X509Certificate2>(); } }
    }

    public class LastError : ILastError
    {
        public string Source { get; set; }
        public string Reason { get; set; }
        public string Message { get; set; }
        public string Scope { get; set; }
        public string Section { get; set; }
        public string Path { get; set; }
        public string PolicyId { get; set; }
    }

    public class Operation : IOperation
    {
        public string Id { get; set; }
        public string Method { get; set; }
        public string Name { get; set; }
        public string UrlTemplate { get; set; }
    }

    public class Subscription : ISubscription
    {
        public DateTime CreatedDate { get; set; }
        public DateTime? EndDate { get; set; }
        public string Id { get; set; }
        public string Key { get { return "subscription-key-never-used"; } }
        public string Name { get; set; }
        public string PrimaryKey { get { return Key; } }
        public string SecondaryKey { get { return Key; } }
        public DateTime? StartDate { get; set; }
    }

    public class Context : IProxyRequestContext
    {
        public Dictionary<string, object> VariableValues = new Dictionary<string, object>();
        public Request RequestValue;
        public Response ResponseValue;
        public List<string> Traces = new List<string>();

        public IApi Api { get; set; }
        public IDeployment Deployment { get; set; }
        public TimeSpan Elapsed { get; set; }
        public ILastError LastError { get; set; }
        public IOperation Operation { get; set; }
        public IProduct Product { get { return null; } }
        public IRequest Request { get { return RequestValue; } }
        public Guid RequestId { get; set; }
        public IResponse Response { get { return ResponseValue; } }
        public ISubscription Subscription { get; set; }
        public DateTime Timestamp { get; set; }
        public bool Tracing { get { return false; } }
        public IUser User { get { return null; } }
        public IReadOnlyDictionary<string, object> Variables { get { return VariableValues; } }
        public void Trace(string message) { Traces.Add(message); }
    }
}
