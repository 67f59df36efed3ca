/* bench-trivial-fcgi: the FastCGI floor of the whole-path benchmark. A
 * libfcgi responder that answers every request with the same small JSON,
 * one request at a time, run under spawn-fcgi behind the shipped nginx
 * configuration: what the web server and the FastCGI hop cost before
 * cuegw does any work. It reads the body (libfcgi would otherwise drain it
 * in FCGX_Finish_r anyway) so that the hop carries what a real call does. */
#include <fcgiapp.h>
#include <string.h>

static const char answer[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 53\r\n"
    "\r\n"
    "{\"shows\":{\"shows\":[{\"id\":\"bench\",\"name\":\"trivial\"}]}}";

int main(void)
{
    FCGX_Request req;
    char buf[4096];
    if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
        return 1;
    while (FCGX_Accept_r(&req) >= 0) {
        while (FCGX_GetStr(buf, sizeof buf, req.in) > 0)
            ;
        FCGX_PutStr(answer, (int)sizeof answer - 1, req.out);
        FCGX_Finish_r(&req);
    }
    return 0;
}
