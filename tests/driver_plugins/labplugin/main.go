// docker-machine-driver-lab: a driver plugin for machine-tui's tests, written with Go's standard library only. It
// serves the protocol libmachine's plugins serve (net/rpc over HTTP, gob, the RPCServerDriver methods, the type
// names of libmachine's mcnflag and rpcdriver packages), so the client is tested against Go itself.
//
// Its machine is any SSH server (--lab-ssh-host/--lab-ssh-port), optionally a VM it starts with --lab-vm-command
// (a shell command that writes the VM's pid to --lab-pid-file). --lab-misbehave MODE:METHOD makes a method fail,
// crash the plugin or hang; LAB_API_VERSION and LAB_OLD_SERVICE change what it answers to the handshake.
package main

import (
	"encoding/gob"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/rpc"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type Flag interface{ String() string }

type StringFlag struct {
	Name, Usage, EnvVar, Value string
}
type IntFlag struct {
	Name, Usage, EnvVar string
	Value               int
}
type BoolFlag struct{ Name, Usage, EnvVar string }
type StringSliceFlag struct {
	Name, Usage, EnvVar string
	Value               []string
}

func (f StringFlag) String() string      { return f.Name }
func (f IntFlag) String() string         { return f.Name }
func (f BoolFlag) String() string        { return f.Name }
func (f StringSliceFlag) String() string { return f.Name }

type DriverOptions interface {
	Get(string) interface{}
}

type RPCFlags struct{ Values map[string]interface{} }

func (r RPCFlags) Get(key string) interface{} { return r.Values[key] }

// Driver: libmachine's BaseDriver fields first (as its embedded struct marshals), then the lab's own.
type Driver struct {
	IPAddress      string
	MachineName    string
	SSHUser        string
	SSHPort        int
	SSHKeyPath     string
	StorePath      string
	SwarmMaster    bool
	SwarmHost      string
	SwarmDiscovery string
	Text           string
	Number         int
	Switch         bool
	Items          []string
	State          int
	Misbehave      string
	VMCommand      string
	PidFile        string
	CreateSeconds  int
	EnginePort     int
	QMPSocket      string
	Calls          []string
}

type State int

const (
	None State = iota
	Running
	Paused
	Saved
	Stopped
)

type RPCServerDriver struct {
	d         *Driver
	closeCh   chan bool
	heartbeat chan bool
}

func (r *RPCServerDriver) enter(method string) error {
	r.d.Calls = append(r.d.Calls, method)
	mode := ""
	if parts := strings.SplitN(r.d.Misbehave, ":", 2); len(parts) == 2 && parts[1] == method {
		mode = parts[0]
	}
	switch mode {
	case "fail":
		return fmt.Errorf("lab: %s failed as asked", method)
	case "crash":
		fmt.Fprintf(os.Stderr, "lab: crashing in %s as asked\n", method)
		os.Exit(3)
	case "hang":
		select {}
	}
	return nil
}

func (r *RPCServerDriver) GetVersion(_ *struct{}, reply *int) error {
	*reply = 1
	if v := os.Getenv("LAB_API_VERSION"); v != "" {
		*reply, _ = strconv.Atoi(v)
	}
	return nil
}

func (r *RPCServerDriver) Close(_, _ *struct{}) error {
	r.closeCh <- true
	return nil
}

func (r *RPCServerDriver) Heartbeat(_, _ *struct{}) error {
	r.heartbeat <- true
	return nil
}

func (r *RPCServerDriver) GetCreateFlags(_ *struct{}, reply *[]Flag) error {
	*reply = []Flag{
		StringFlag{Name: "lab-text", Usage: "Some text", EnvVar: "LAB_TEXT", Value: "plain"},
		IntFlag{Name: "lab-number", Usage: "A number", EnvVar: "LAB_NUMBER", Value: 3},
		BoolFlag{Name: "lab-switch", Usage: "A switch", EnvVar: "LAB_SWITCH"},
		StringSliceFlag{Name: "lab-items", Usage: "Some items", EnvVar: "LAB_ITEMS", Value: []string{"a", "b"}},
		StringFlag{Name: "lab-ssh-host", Usage: "SSH host", Value: "127.0.0.1"},
		IntFlag{Name: "lab-ssh-port", Usage: "SSH port", Value: 22},
		StringFlag{Name: "lab-ssh-user", Usage: "SSH user", Value: "docker"},
		StringFlag{Name: "lab-ssh-key", Usage: "SSH private key"},
		StringFlag{Name: "lab-misbehave", Usage: "fail, crash or hang in a method: MODE:METHOD"},
		StringFlag{Name: "lab-vm-command", Usage: "Shell command that starts the VM"},
		StringFlag{Name: "lab-pid-file", Usage: "Where the VM command writes the VM's pid"},
		IntFlag{Name: "lab-create-seconds", Usage: "How long a create takes"},
		IntFlag{Name: "lab-engine-port", Usage: "The Docker engine's port", Value: 2376},
		StringFlag{Name: "lab-qmp-socket", Usage: "The VM's QMP socket: stop presses its power button"},
	}
	return nil
}

func (r *RPCServerDriver) GetConfigRaw(_ *struct{}, reply *[]byte) error {
	data, err := json.Marshal(r.d)
	*reply = data
	return err
}

func (r *RPCServerDriver) SetConfigRaw(data []byte, _ *struct{}) error {
	return json.Unmarshal(data, r.d)
}

func (r *RPCServerDriver) SetConfigFromFlags(opts *DriverOptions, _ *struct{}) error {
	f := *opts
	d := r.d
	d.Text, _ = f.Get("lab-text").(string)
	d.Number, _ = f.Get("lab-number").(int)
	d.Switch, _ = f.Get("lab-switch").(bool)
	d.Items, _ = f.Get("lab-items").([]string)
	d.IPAddress, _ = f.Get("lab-ssh-host").(string)
	d.SSHPort, _ = f.Get("lab-ssh-port").(int)
	d.SSHUser, _ = f.Get("lab-ssh-user").(string)
	d.SSHKeyPath, _ = f.Get("lab-ssh-key").(string)
	d.Misbehave, _ = f.Get("lab-misbehave").(string)
	d.VMCommand, _ = f.Get("lab-vm-command").(string)
	d.PidFile, _ = f.Get("lab-pid-file").(string)
	d.CreateSeconds, _ = f.Get("lab-create-seconds").(int)
	d.EnginePort, _ = f.Get("lab-engine-port").(int)
	d.QMPSocket, _ = f.Get("lab-qmp-socket").(string)
	d.SwarmMaster, _ = f.Get("swarm-master").(bool)
	d.SwarmHost, _ = f.Get("swarm-host").(string)
	d.SwarmDiscovery, _ = f.Get("swarm-discovery").(string)
	if d.Number < 0 {
		return fmt.Errorf("lab-number must not be negative")
	}
	return r.enter("SetConfigFromFlags")
}

func (r *RPCServerDriver) DriverName(_ *struct{}, reply *string) error {
	*reply = "lab"
	return nil
}

func (r *RPCServerDriver) GetMachineName(_ *struct{}, reply *string) error {
	*reply = r.d.MachineName
	return nil
}

func (r *RPCServerDriver) PreCreateCheck(_, _ *struct{}) error { return r.enter("PreCreateCheck") }

func (r *RPCServerDriver) Create(_, _ *struct{}) error {
	fmt.Println("Creating the lab machine...")
	if err := r.enter("Create"); err != nil {
		return err
	}
	time.Sleep(time.Duration(r.d.CreateSeconds) * time.Second)
	r.d.State = int(Running)
	return r.startVM()
}

func (r *RPCServerDriver) startVM() error {
	if r.d.VMCommand == "" {
		return nil
	}
	out, err := exec.Command("sh", "-c", r.d.VMCommand).CombinedOutput()
	if err != nil {
		return fmt.Errorf("the VM command failed: %s: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (r *RPCServerDriver) vmPid() int {
	data, err := os.ReadFile(r.d.PidFile)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

// powerDown presses the VM's ACPI power button through QMP, so the guest shuts down cleanly (a signal to QEMU would
// lose what the guest had not written), and waits for it to go; false when there is no QMP socket to ask.
func (r *RPCServerDriver) powerDown() bool {
	if r.d.QMPSocket == "" || r.vmPid() == 0 {
		return false
	}
	conn, err := net.Dial("unix", r.d.QMPSocket)
	if err != nil {
		return false
	}
	defer conn.Close()
	buf := make([]byte, 4096)
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	conn.Read(buf) // the greeting
	for _, cmd := range []string{"qmp_capabilities", "system_powerdown"} {
		fmt.Fprintf(conn, "{\"execute\": %q}\n", cmd)
		conn.Read(buf)
	}
	for i := 0; i < 1200 && r.vmPid() != 0; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	return r.vmPid() == 0
}

func (r *RPCServerDriver) signalVM(sig syscall.Signal) {
	if pid := r.vmPid(); pid != 0 {
		syscall.Kill(pid, sig)
		for i := 0; i < 600 && r.vmPid() != 0; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func (r *RPCServerDriver) state() State {
	if r.d.VMCommand == "" {
		return State(r.d.State)
	}
	if r.vmPid() != 0 {
		return Running
	}
	return Stopped
}

func (r *RPCServerDriver) GetState(_ *struct{}, reply *State) error {
	if err := r.enter("GetState"); err != nil {
		return err
	}
	*reply = r.state()
	return nil
}

func (r *RPCServerDriver) GetIP(_ *struct{}, reply *string) error {
	*reply = r.d.IPAddress
	return r.enter("GetIP")
}

func (r *RPCServerDriver) GetURL(_ *struct{}, reply *string) error {
	if err := r.enter("GetURL"); err != nil {
		return err
	}
	if r.state() != Running {
		return fmt.Errorf("Host is not running") // libmachine's drivers.ErrHostIsNotRunning
	}
	port := r.d.EnginePort
	if port == 0 {
		port = 2376
	}
	*reply = "tcp://" + net.JoinHostPort(r.d.IPAddress, strconv.Itoa(port))
	return nil
}

func (r *RPCServerDriver) GetSSHHostname(_ *struct{}, reply *string) error {
	*reply = r.d.IPAddress
	return nil
}

func (r *RPCServerDriver) GetSSHPort(_ *struct{}, reply *int) error {
	*reply = r.d.SSHPort
	return nil
}

func (r *RPCServerDriver) GetSSHUsername(_ *struct{}, reply *string) error {
	*reply = r.d.SSHUser
	return nil
}

func (r *RPCServerDriver) GetSSHKeyPath(_ *struct{}, reply *string) error {
	*reply = r.d.SSHKeyPath
	return nil
}

func (r *RPCServerDriver) Start(_, _ *struct{}) error {
	if err := r.enter("Start"); err != nil {
		return err
	}
	r.d.State = int(Running)
	if r.vmPid() != 0 {
		return nil
	}
	return r.startVM()
}

func (r *RPCServerDriver) Stop(_, _ *struct{}) error {
	if err := r.enter("Stop"); err != nil {
		return err
	}
	r.d.State = int(Stopped)
	if !r.powerDown() {
		r.signalVM(syscall.SIGTERM)
	}
	return nil
}

func (r *RPCServerDriver) Kill(_, _ *struct{}) error {
	if err := r.enter("Kill"); err != nil {
		return err
	}
	r.d.State = int(Stopped)
	r.signalVM(syscall.SIGKILL)
	return nil
}

func (r *RPCServerDriver) Restart(_, _ *struct{}) error {
	if err := r.enter("Restart"); err != nil {
		return err
	}
	if !r.powerDown() {
		r.signalVM(syscall.SIGTERM)
	}
	r.d.State = int(Running)
	return r.startVM()
}

func (r *RPCServerDriver) Remove(_, _ *struct{}) error {
	if err := r.enter("Remove"); err != nil {
		return err
	}
	r.signalVM(syscall.SIGKILL)
	return nil
}

func main() {
	if os.Getenv("MACHINE_PLUGIN_TOKEN") != "42" {
		fmt.Fprintln(os.Stderr, "This is a Docker Machine plugin binary.")
		os.Exit(1)
	}
	gob.RegisterName("*rpcdriver.RPCFlags", new(RPCFlags))
	gob.RegisterName("*mcnflag.StringFlag", new(StringFlag))
	gob.RegisterName("*mcnflag.IntFlag", new(IntFlag))
	gob.RegisterName("*mcnflag.BoolFlag", new(BoolFlag))
	gob.RegisterName("*mcnflag.StringSliceFlag", new(StringSliceFlag))
	server := &RPCServerDriver{d: &Driver{}, closeCh: make(chan bool), heartbeat: make(chan bool)}
	rpc.RegisterName("RpcServerDriver", server)
	if os.Getenv("LAB_OLD_SERVICE") == "" {
		rpc.RegisterName("RPCServerDriver", server)
	}
	rpc.HandleHTTP()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error loading RPC server: %s\n", err)
		os.Exit(1)
	}
	fmt.Println(listener.Addr())
	go http.Serve(listener, nil)
	// libmachine's plugins give up after 10 s without a heartbeat; the tests may ask for less patience
	patience := 10 * time.Second
	if seconds, err := strconv.ParseFloat(os.Getenv("LAB_PATIENCE"), 64); err == nil {
		patience = time.Duration(seconds * float64(time.Second))
	}
	for {
		select {
		case <-server.closeCh:
			os.Exit(0)
		case <-server.heartbeat:
		case <-time.After(patience):
			fmt.Fprintf(os.Stderr, "lab: no heartbeat for %s\n", patience)
			os.Exit(1)
		}
	}
}
